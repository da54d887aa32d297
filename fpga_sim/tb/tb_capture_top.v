// Simulation harness for capture_top: clocks, a sensor bus-functional model that plays images
// loaded from sensor_image.hex, and an FT601 bridge model with LFSR backpressure that logs
// every upstream word to tx_words.hex and serves downstream words from rx_words.hex.
// Python (cocotb) drives the control inputs and waits on the counters; nothing here awaits
// per-cycle Python callbacks.
`timescale 1ns / 1ps
module tb_capture_top #(
    parameter BPP = 12,
    parameter SENSOR_WIDTH = 64,
    parameter SENSOR_HEIGHT = 48,
    parameter STORE_ADDR_BITS = 11,
    parameter CDC_ADDR_BITS = 4,
    parameter DEBOUNCE_CYCLES = 8,
    parameter PIX_HALF_PERIOD_PS = 6500,   // 76.9 MHz pixel clock
    parameter FT_HALF_PERIOD_PS = 5000,    // 100 MHz FT601 clock
    parameter MAX_IMAGE_PIXELS = 8192
) (
    input  wire        rst_async,
    input  wire        trig_in,
    // sensor model control (pixel clock domain, sampled)
    input  wire        img_load,       // rising edge: $readmemh("sensor_image.hex")
    input  wire [15:0] img_width,      // pixels per line played (may differ from the sensor)
    input  wire [15:0] img_height,     // lines per frame played
    input  wire [15:0] hblank,         // pixel clocks between lines
    input  wire [15:0] vblank,         // pixel clocks between frame-valid edges and lines
    input  wire [15:0] short_row,      // this line (0-based) of every frame is short_len long
    input  wire [15:0] short_len,
    input  wire [15:0] play_frames,    // frames to play per play_toggle flip
    input  wire        play_toggle,
    output reg  [31:0] frames_played,
    output reg  [31:0] line_cycles,    // pixel clocks with line-valid high
    output reg  [31:0] sensor_cycles,  // pixel clocks while playing
    // bridge model control (FT601 clock domain)
    input  wire [31:0] lfsr_seed,
    input  wire [7:0]  txe_busy_256,   // chance in 256 that txe_n is high on a cycle
    input  wire        tx_stall,       // hold txe_n high
    input  wire        rx_load,        // rising edge: $readmemh("rx_words.hex"), rx_count words
    input  wire [15:0] rx_count,
    output reg  [31:0] tx_packets,     // upstream packets completed (flushed to tx_words.hex)
    output reg  [15:0] rx_sent
);
    reg pix_clk = 1'b0;
    reg ft_clk = 1'b0;
    always #(PIX_HALF_PERIOD_PS / 1000.0) pix_clk = ~pix_clk;
    always #(FT_HALF_PERIOD_PS / 1000.0) ft_clk = ~ft_clk;

    // ---- sensor bus-functional model ---------------------------------------------------------
    reg [15:0] img [0:MAX_IMAGE_PIXELS-1];
    reg fv, lv;
    reg [BPP-1:0] pix_data;
    reg [15:0] frames_left, col, row, wait_cycles;
    reg [31:0] pix_index, row_base;
    reg [15:0] line_len;
    reg [2:0] s_state;
    reg play_seen;
    localparam S_IDLE = 0, S_VB0 = 1, S_LINE = 2, S_HB = 3, S_VB1 = 4, S_GAP = 5;

    always @(posedge img_load) $readmemh("sensor_image.hex", img);

    always @(posedge pix_clk) begin
        if (rst_async) begin
            fv <= 1'b0;
            lv <= 1'b0;
            pix_data <= 0;
            frames_left <= 0;
            s_state <= S_IDLE;
            play_seen <= play_toggle;
            frames_played <= 0;
            line_cycles <= 0;
            sensor_cycles <= 0;
        end else begin
            if (s_state != S_IDLE) sensor_cycles <= sensor_cycles + 1;
            if (lv) line_cycles <= line_cycles + 1;
            case (s_state)
                S_IDLE: if (play_toggle != play_seen) begin
                    play_seen <= play_toggle;
                    frames_left <= play_frames;
                    s_state <= S_GAP;
                    wait_cycles <= 0;
                end
                S_GAP: begin
                    if (frames_left == 0) s_state <= S_IDLE;
                    else begin
                        fv <= 1'b1;
                        row <= 0;
                        row_base <= 0;
                        wait_cycles <= vblank;
                        s_state <= S_VB0;
                    end
                end
                S_VB0, S_HB: begin
                    lv <= 1'b0;
                    if (wait_cycles > 1) wait_cycles <= wait_cycles - 1;
                    else if (row == img_height) begin
                        wait_cycles <= vblank;
                        s_state <= S_VB1;
                    end else begin
                        lv <= 1'b1;
                        line_len <= (row == short_row) ? short_len : img_width;
                        pix_data <= img[row_base][BPP-1:0];
                        pix_index <= row_base + 1;
                        col <= 1;
                        s_state <= S_LINE;
                    end
                end
                S_LINE: begin
                    if (col == line_len) begin
                        lv <= 1'b0;
                        row <= row + 1;
                        row_base <= row_base + img_width;
                        wait_cycles <= hblank;
                        s_state <= S_HB;
                    end else begin
                        pix_data <= img[pix_index][BPP-1:0];
                        pix_index <= pix_index + 1;
                        col <= col + 1;
                    end
                end
                default: begin  // S_VB1
                    if (wait_cycles > 1) wait_cycles <= wait_cycles - 1;
                    else begin
                        fv <= 1'b0;
                        frames_left <= frames_left - 1;
                        frames_played <= frames_played + 1;
                        s_state <= S_GAP;
                    end
                end
            endcase
        end
    end

    // ---- FT601 bridge model ------------------------------------------------------------------
    wire txe_n, rxf_n, wr_n, rd_n, oe_n, data_oe;
    wire [3:0] be;
    wire [31:0] data_out;
    reg [31:0] lfsr;
    reg txe_busy;
    reg [31:0] rx_mem [0:255];
    integer tx_fd;
    initial tx_fd = $fopen("tx_words.hex", "w");

    assign txe_n = tx_stall | txe_busy;
    assign rxf_n = ~(rx_sent < rx_count);
    wire [31:0] data_in = rx_mem[rx_sent[7:0]];
    always @(posedge rx_load) $readmemh("rx_words.hex", rx_mem);

    always @(posedge ft_clk) begin
        if (rst_async) begin
            lfsr <= lfsr_seed | 32'd1;
            txe_busy <= 1'b0;
            tx_packets <= 0;
            rx_sent <= 0;
        end else begin
            lfsr <= {lfsr[30:0], lfsr[31] ^ lfsr[21] ^ lfsr[1] ^ lfsr[0]};
            txe_busy <= (lfsr[7:0] < txe_busy_256);
            if (!wr_n && !txe_n) begin
                $fwrite(tx_fd, "%08x\n", data_out);
                if (u_dut.u_ft.out_last) begin
                    $fflush(tx_fd);
                    tx_packets <= tx_packets + 1;
                end
            end
            if (!rd_n && !rxf_n) rx_sent <= rx_sent + 1;
            if (rx_load) rx_sent <= 0;
        end
    end

    capture_top #(
        .BPP(BPP), .SENSOR_WIDTH(SENSOR_WIDTH), .SENSOR_HEIGHT(SENSOR_HEIGHT),
        .STORE_ADDR_BITS(STORE_ADDR_BITS), .CDC_ADDR_BITS(CDC_ADDR_BITS),
        .DEBOUNCE_CYCLES(DEBOUNCE_CYCLES), .CLKS_PER_US(100)
    ) u_dut (
        .rst_async(rst_async), .pix_clk(pix_clk), .fv(fv), .lv(lv), .pix_data(pix_data),
        .trig_in(trig_in), .ft_clk(ft_clk), .ft_txe_n(txe_n), .ft_rxf_n(rxf_n),
        .ft_wr_n(wr_n), .ft_rd_n(rd_n), .ft_oe_n(oe_n), .ft_be(be), .ft_data_out(data_out),
        .ft_data_oe(data_oe), .ft_data_in(data_in)
    );
endmodule
