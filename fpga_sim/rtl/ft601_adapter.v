// FT601-style 245 synchronous FIFO bridge, 32-bit bus, clocked by the bridge's clock.
// The bidirectional data bus is split into data_in / data_out + data_oe (the pad's tristate).
// Write: a word moves on a rising edge with wr_n and txe_n low. Read: after one turnaround
// cycle with oe_n low, a word moves on a rising edge with rd_n and rxf_n low. Writes give way
// to reads only between packets (s_tlast), so a pending command is served within one packet.
`timescale 1ns / 1ps
module ft601_adapter (
    input  wire        clk,
    input  wire        rst,
    // upstream packets (to the host)
    input  wire [31:0] s_tdata,
    input  wire        s_tvalid,
    input  wire        s_tlast,
    output wire        s_tready,
    // downstream words (from the host)
    output wire [31:0] m_tdata,
    output wire        m_tvalid,
    input  wire        m_tready,
    // FT601 pins
    input  wire        txe_n,
    input  wire        rxf_n,
    output wire        wr_n,
    output wire        rd_n,
    output wire        oe_n,
    output wire [3:0]  be,
    output wire [31:0] data_out,
    output wire        data_oe,
    input  wire [31:0] data_in
);
    localparam [1:0] S_IDLE = 2'd0, S_WRITE = 2'd1, S_TURN = 2'd2, S_READ = 2'd3;
    reg [1:0] state;
    wire writing = (state == S_WRITE);
    wire reading = (state == S_READ);
    wire tx_move = writing & s_tvalid & ~txe_n;

    assign wr_n = ~(writing & s_tvalid);
    assign s_tready = writing & ~txe_n;
    assign data_out = s_tdata;
    assign data_oe = writing;
    assign be = 4'b1111;
    assign oe_n = ~((state == S_TURN) | reading);
    assign rd_n = ~(reading & m_tready);
    assign m_tvalid = reading & ~rxf_n;
    assign m_tdata = data_in;

    always @(posedge clk) begin
        if (rst) begin
            state <= S_IDLE;
        end else begin
            case (state)
                S_IDLE:
                    if (!rxf_n && m_tready) state <= S_TURN;
                    else if (s_tvalid && !txe_n) state <= S_WRITE;
                S_WRITE:
                    if (!tx_move || (s_tlast && !rxf_n)) state <= S_IDLE;
                S_TURN:
                    state <= S_READ;
                default:  // S_READ
                    if (rxf_n || !m_tready) state <= S_IDLE;
            endcase
        end
    end
endmodule
