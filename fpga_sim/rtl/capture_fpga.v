// Synthesis top: capture_top with the FT601's bidirectional 32-bit data bus on real pads.
`timescale 1ns / 1ps
module capture_fpga #(
    parameter BPP = 12,
    parameter SENSOR_WIDTH = 2048,
    parameter SENSOR_HEIGHT = 2048,
    parameter FIFO_ADDR_BITS = 9
) (
    input  wire           rst_async,
    input  wire           pix_clk,
    input  wire           pix_fv,
    input  wire           pix_lv,
    input  wire [BPP-1:0] pix_data,
    input  wire           trig_in,
    input  wire           ft_clk,
    input  wire           ft_txe_n,
    input  wire           ft_rxf_n,
    output wire           ft_wr_n,
    output wire           ft_rd_n,
    output wire           ft_oe_n,
    output wire [3:0]     ft_be,
    inout  wire [31:0]    ft_data
);
    wire [31:0] data_out;
    wire data_oe;
    assign ft_data = data_oe ? data_out : 32'bz;

    capture_top #(
        .BPP(BPP), .SENSOR_WIDTH(SENSOR_WIDTH), .SENSOR_HEIGHT(SENSOR_HEIGHT),
        .FIFO_ADDR_BITS(FIFO_ADDR_BITS)
    ) u_top (
        .rst_async(rst_async), .pix_clk(pix_clk), .pix_fv(pix_fv), .pix_lv(pix_lv),
        .pix_data(pix_data), .trig_in(trig_in), .ft_clk(ft_clk), .ft_txe_n(ft_txe_n), .ft_rxf_n(ft_rxf_n),
        .ft_wr_n(ft_wr_n), .ft_rd_n(ft_rd_n), .ft_oe_n(ft_oe_n), .ft_be(ft_be),
        .ft_data_out(data_out), .ft_data_oe(data_oe), .ft_data_in(ft_data)
    );
endmodule
