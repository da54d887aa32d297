// Two packet streams onto one: replies (b) win at packet boundaries, a packet is never split.
`timescale 1ns / 1ps
module packet_arbiter (
    input  wire        clk,
    input  wire        rst,
    input  wire [31:0] a_tdata,
    input  wire        a_tvalid,
    input  wire        a_tlast,
    output wire        a_tready,
    input  wire [31:0] b_tdata,
    input  wire        b_tvalid,
    input  wire        b_tlast,
    output wire        b_tready,
    output wire [31:0] m_tdata,
    output wire        m_tvalid,
    output wire        m_tlast,
    input  wire        m_tready
);
    reg busy, owner_b;
    wire sel_b = busy ? owner_b : b_tvalid;
    assign m_tdata = sel_b ? b_tdata : a_tdata;
    assign m_tvalid = sel_b ? b_tvalid : a_tvalid;
    assign m_tlast = sel_b ? b_tlast : a_tlast;
    assign a_tready = ~sel_b & m_tready;
    assign b_tready = sel_b & m_tready;

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            owner_b <= 1'b0;
        end else if (m_tvalid & m_tready) begin
            busy <= ~m_tlast;
            owner_b <= sel_b;
        end
    end
endmodule
