// Exposure trigger input: two-flop synchroniser, debounce (the level must hold for
// DEBOUNCE_CYCLES clocks before it is believed), rising-edge counter and a microsecond clock.
// Each counted trigger latches the microsecond time; `fresh` stays set until a frame
// consumes it. `clear` zeroes the count, the latched time and `fresh`.
`timescale 1ns / 1ps
module trigger_sync #(
    parameter DEBOUNCE_CYCLES = 16,
    parameter CLKS_PER_US = 100
) (
    input  wire        clk,
    input  wire        rst,
    input  wire        trig_in,
    input  wire        clear,
    input  wire        consume,
    output reg  [31:0] count,
    output reg  [63:0] last_us,
    output reg         fresh
);
    localparam DB_BITS = (DEBOUNCE_CYCLES < 2) ? 1 : $clog2(DEBOUNCE_CYCLES);
    localparam US_BITS = (CLKS_PER_US < 2) ? 1 : $clog2(CLKS_PER_US);
    localparam integer DB_LAST_INT = DEBOUNCE_CYCLES - 1;
    localparam integer US_LAST_INT = CLKS_PER_US - 1;
    localparam [DB_BITS-1:0] DB_LAST = DB_LAST_INT[DB_BITS-1:0];  // last count, counter width
    localparam [US_BITS-1:0] US_LAST = US_LAST_INT[US_BITS-1:0];

    reg sync1, sync2, level;
    reg [DB_BITS-1:0] stable_cycles;
    reg [US_BITS-1:0] prescale;
    reg [63:0] now_us;        // microseconds since reset
    reg [63:0] now_us_plus1;  // precomputed so the tick path has no 64-bit carry chain
    reg pulse;

    always @(posedge clk) begin
        if (rst) begin
            sync1 <= 1'b0;
            sync2 <= 1'b0;
            level <= 1'b0;
            stable_cycles <= 0;
            pulse <= 1'b0;
        end else begin
            sync1 <= trig_in;
            sync2 <= sync1;
            pulse <= 1'b0;
            if (sync2 == level) begin
                stable_cycles <= 0;
            end else if (stable_cycles == DB_LAST) begin
                stable_cycles <= 0;
                level <= sync2;
                pulse <= sync2;
            end else begin
                stable_cycles <= stable_cycles + 1'b1;
            end
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            prescale <= 0;
            now_us <= 64'd0;
            now_us_plus1 <= 64'd1;
        end else begin
            now_us_plus1 <= now_us + 64'd1;
            if (prescale == US_LAST) begin
                prescale <= 0;
                now_us <= now_us_plus1;
            end else begin
                prescale <= prescale + 1'b1;
            end
        end
    end

    always @(posedge clk) begin
        if (rst || clear) begin
            count <= 32'd0;
            last_us <= 64'd0;
            fresh <= 1'b0;
        end else if (pulse) begin
            count <= count + 32'd1;
            last_us <= now_us;
            fresh <= 1'b1;
        end else if (consume) begin
            fresh <= 1'b0;
        end
    end
endmodule
