// Asynchronous FIFO (Cummings style): binary + gray pointers, two-flop pointer synchronisers,
// registered full/empty. First-word-fall-through read: rd_data is valid while !rd_empty.
// Writes while full and reads while empty are ignored.
`timescale 1ns / 1ps
module async_fifo #(
    parameter WIDTH = 18,
    parameter ADDR_BITS = 4
) (
    input  wire             wr_clk,
    input  wire             wr_rst,
    input  wire             wr_en,
    input  wire [WIDTH-1:0] wr_data,
    output reg              wr_full,
    input  wire             rd_clk,
    input  wire             rd_rst,
    input  wire             rd_en,
    output wire [WIDTH-1:0] rd_data,
    output reg              rd_empty
);
    localparam A = ADDR_BITS;
    reg [WIDTH-1:0] mem [0:(1 << A) - 1];

    reg [A:0] wbin, wgray, rbin, rgray;
    reg [A:0] rgray_w1, rgray_w2, wgray_r1, wgray_r2;

    wire [A:0] wbin_next = wbin + {{A{1'b0}}, wr_en & ~wr_full};
    wire [A:0] wgray_next = (wbin_next >> 1) ^ wbin_next;
    wire [A:0] rbin_next = rbin + {{A{1'b0}}, rd_en & ~rd_empty};
    wire [A:0] rgray_next = (rbin_next >> 1) ^ rbin_next;

    always @(posedge wr_clk) begin
        if (wr_en & ~wr_full) mem[wbin[A-1:0]] <= wr_data;
    end

    always @(posedge wr_clk) begin
        if (wr_rst) begin
            wbin <= 0;
            wgray <= 0;
            wr_full <= 1'b0;
            rgray_w1 <= 0;
            rgray_w2 <= 0;
        end else begin
            wbin <= wbin_next;
            wgray <= wgray_next;
            rgray_w1 <= rgray;
            rgray_w2 <= rgray_w1;
            wr_full <= (wgray_next == {~rgray_w2[A:A-1], rgray_w2[A-2:0]});
        end
    end

    always @(posedge rd_clk) begin
        if (rd_rst) begin
            rbin <= 0;
            rgray <= 0;
            rd_empty <= 1'b1;
            wgray_r1 <= 0;
            wgray_r2 <= 0;
        end else begin
            rbin <= rbin_next;
            rgray <= rgray_next;
            wgray_r1 <= wgray;
            wgray_r2 <= wgray_r1;
            rd_empty <= (rgray_next == wgray_r2);
        end
    end

    assign rd_data = mem[rbin[A-1:0]];
endmodule
