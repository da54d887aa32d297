// FT601-style 245 synchronous FIFO bridge, 32-bit bus, clocked by the bridge's clock.
// The bidirectional data bus is split into data_in / data_out + data_oe (the pad's tristate).
// All pad outputs are registered. Write: the word on the pads moves on a rising edge with wr_n
// and txe_n low; a word that met txe_n high stays on the pads until it moves. Read: after one
// turnaround cycle with oe_n low, a word moves on a rising edge with rd_n and rxf_n low.
// Writes give way to reads between packets, so a pending command waits at most one packet.
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
    reg [1:0] state, state_next;
    reg [31:0] out_data;
    reg out_full, out_last, wr_q, oe_q, rd_q;

    wire moved = wr_q & ~txe_n;              // the word on the pads went at this edge
    wire slot_free = ~out_full | moved;
    assign s_tready = (state == S_WRITE) & slot_free;
    wire take = s_tvalid & s_tready;
    wire out_full_next = take | (out_full & ~moved);
    wire host_waiting = ~rxf_n & m_tready;
    wire reading = (state == S_READ);

    always @(*) begin
        state_next = state;
        case (state)
            S_IDLE:
                if (host_waiting) state_next = S_TURN;
                else if (s_tvalid | out_full) state_next = S_WRITE;
            S_WRITE:
                if ((host_waiting & moved & out_last) | (~out_full_next & ~s_tvalid))
                    state_next = S_IDLE;
            S_TURN:
                state_next = S_READ;
            default:  // S_READ
                if (rxf_n | ~m_tready) state_next = S_IDLE;
        endcase
    end

    always @(posedge clk) begin
        if (rst) begin
            state <= S_IDLE;
            out_data <= 32'd0;
            out_full <= 1'b0;
            out_last <= 1'b0;
            wr_q <= 1'b0;
            oe_q <= 1'b0;
            rd_q <= 1'b0;
        end else begin
            state <= state_next;
            if (take) begin
                out_data <= s_tdata;
                out_last <= s_tlast;
            end
            out_full <= out_full_next;
            wr_q <= (state_next == S_WRITE) & out_full_next;
            oe_q <= (state_next == S_TURN) | (state_next == S_READ);
            rd_q <= (state_next == S_READ);
        end
    end

    assign wr_n = ~wr_q;
    assign data_out = out_data;
    assign data_oe = (state == S_WRITE);
    assign be = 4'b1111;
    assign oe_n = ~oe_q;
    assign rd_n = ~(rd_q & m_tready);
    assign m_tvalid = reading & ~rxf_n;
    assign m_tdata = data_in;
endmodule
