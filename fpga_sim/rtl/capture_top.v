// OpenSBS FPGA capture path: sensor parallel bus -> ROI/binning (pixel clock) -> async FIFO
// -> streaming packetiser: header, pixels through an elastic FIFO, trailer, CRC-32 (bridge
// clock) -> FT601 245 synchronous FIFO.
// Register commands come down the same FT601 link; replies go up between image frames.
// The exposure trigger is synchronised, debounced and time-stamped in the bridge clock domain.
`timescale 1ns / 1ps
module capture_top #(
    parameter BPP = 12,              // sensor bits per pixel (10 or 12)
    parameter SENSOR_WIDTH = 64,     // pixels per line, a multiple of 4
    parameter SENSOR_HEIGHT = 48,    // lines per frame, even
    parameter FIFO_ADDR_BITS = 9,   // elastic pixel FIFO: 2**N words of two pixels
    parameter CDC_ADDR_BITS = 4,     // clock-crossing FIFO depth 2**N
    parameter DEBOUNCE_CYCLES = 16,  // bridge clocks the trigger level must hold
    parameter CLKS_PER_US = 100      // bridge clocks per microsecond (>= 2)
) (
    input  wire           rst_async,
    // sensor
    input  wire           pix_clk,
    input  wire           pix_fv,
    input  wire           pix_lv,
    input  wire [BPP-1:0] pix_data,
    // exposure trigger from the controller board (asynchronous)
    input  wire           trig_in,
    // FT601 (its 100 MHz clock is the bridge clock)
    input  wire           ft_clk,
    input  wire           ft_txe_n,
    input  wire           ft_rxf_n,
    output wire           ft_wr_n,
    output wire           ft_rd_n,
    output wire           ft_oe_n,
    output wire [3:0]     ft_be,
    output wire [31:0]    ft_data_out,
    output wire           ft_data_oe,
    input  wire [31:0]    ft_data_in
);
    localparam DIM_BITS = 14;
    wire pix_rst, br_rst;
    reset_sync u_pix_rst (.clk(pix_clk), .rst_async(rst_async), .rst(pix_rst));
    reset_sync u_br_rst (.clk(ft_clk), .rst_async(rst_async), .rst(br_rst));

    // ---- register file (bridge domain) ------------------------------------------------------
    wire [3:0] control;
    wire [DIM_BITS-1:0] roi_x, roi_y, roi_w, roi_h;
    wire [7:0] channel;
    wire cfg_toggle, counter_clear;
    wire ev_frame_sent, ev_drop, ev_overflow;
    wire [31:0] trig_count;
    wire [63:0] trig_us;
    wire trig_fresh, trig_consume;
    wire [31:0] cmd_tdata, rep_tdata, frm_tdata, up_tdata;
    wire cmd_tvalid, cmd_tready, rep_tvalid, rep_tlast, rep_tready;
    wire frm_tvalid, frm_tlast, frm_tready, up_tvalid, up_tlast, up_tready;
    wire sensor_in_frame;
    reg [1:0] in_frame_sync;
    always @(posedge ft_clk) in_frame_sync <= {in_frame_sync[0], sensor_in_frame};

    register_file #(
        .SENSOR_WIDTH(SENSOR_WIDTH), .SENSOR_HEIGHT(SENSOR_HEIGHT), .DIM_BITS(DIM_BITS)
    ) u_regs (
        .clk(ft_clk), .rst(br_rst),
        .s_tdata(cmd_tdata), .s_tvalid(cmd_tvalid), .s_tready(cmd_tready),
        .r_tdata(rep_tdata), .r_tvalid(rep_tvalid), .r_tlast(rep_tlast), .r_tready(rep_tready),
        .control(control), .roi_x(roi_x), .roi_y(roi_y), .roi_w(roi_w), .roi_h(roi_h),
        .channel(channel), .cfg_toggle(cfg_toggle),
        .ev_frame_sent(ev_frame_sent), .ev_drop(ev_drop), .ev_overflow(ev_overflow),
        .trigger_count(trig_count), .in_frame(in_frame_sync[1]), .counter_clear(counter_clear)
    );

    trigger_sync #(
        .DEBOUNCE_CYCLES(DEBOUNCE_CYCLES), .CLKS_PER_US(CLKS_PER_US)
    ) u_trig (
        .clk(ft_clk), .rst(br_rst), .trig_in(trig_in), .clear(counter_clear),
        .consume(trig_consume), .count(trig_count), .last_us(trig_us), .fresh(trig_fresh)
    );

    // ---- sensor domain ---------------------------------------------------------------------
    wire cdc_wr_en, cdc_full, cdc_empty, cdc_rd;
    wire [17:0] cdc_wr_data, cdc_rd_data;
    sensor_frontend #(
        .BPP(BPP), .SENSOR_WIDTH(SENSOR_WIDTH), .SENSOR_HEIGHT(SENSOR_HEIGHT),
        .DIM_BITS(DIM_BITS)
    ) u_front (
        .clk(pix_clk), .rst(pix_rst), .fv(pix_fv), .lv(pix_lv), .data(pix_data),
        .cfg_toggle(cfg_toggle), .cfg_control(control), .cfg_roi_x(roi_x), .cfg_roi_y(roi_y),
        .cfg_roi_w(roi_w), .cfg_roi_h(roi_h),
        .wr_en(cdc_wr_en), .wr_data(cdc_wr_data), .wr_full(cdc_full), .in_frame(sensor_in_frame)
    );

    async_fifo #(.WIDTH(18), .ADDR_BITS(CDC_ADDR_BITS)) u_cdc (
        .wr_clk(pix_clk), .wr_rst(pix_rst), .wr_en(cdc_wr_en), .wr_data(cdc_wr_data),
        .wr_full(cdc_full),
        .rd_clk(ft_clk), .rd_rst(br_rst), .rd_en(cdc_rd), .rd_data(cdc_rd_data),
        .rd_empty(cdc_empty)
    );

    // ---- bridge domain: frames, arbitration, FT601 -------------------------------------------
    frame_packetiser #(.BPP(BPP), .FIFO_ADDR_BITS(FIFO_ADDR_BITS)) u_pack (
        .clk(ft_clk), .rst(br_rst),
        .fifo_empty(cdc_empty), .fifo_data(cdc_rd_data), .fifo_rd(cdc_rd),
        .trig_count(trig_count), .trig_us(trig_us), .trig_fresh(trig_fresh),
        .trig_consume(trig_consume), .channel(channel),
        .m_tdata(frm_tdata), .m_tvalid(frm_tvalid), .m_tlast(frm_tlast), .m_tready(frm_tready),
        .ev_frame_sent(ev_frame_sent), .ev_drop(ev_drop), .ev_overflow(ev_overflow)
    );

    packet_arbiter u_arb (
        .clk(ft_clk), .rst(br_rst),
        .a_tdata(frm_tdata), .a_tvalid(frm_tvalid), .a_tlast(frm_tlast), .a_tready(frm_tready),
        .b_tdata(rep_tdata), .b_tvalid(rep_tvalid), .b_tlast(rep_tlast), .b_tready(rep_tready),
        .m_tdata(up_tdata), .m_tvalid(up_tvalid), .m_tlast(up_tlast), .m_tready(up_tready)
    );

    ft601_adapter u_ft (
        .clk(ft_clk), .rst(br_rst),
        .s_tdata(up_tdata), .s_tvalid(up_tvalid), .s_tlast(up_tlast), .s_tready(up_tready),
        .m_tdata(cmd_tdata), .m_tvalid(cmd_tvalid), .m_tready(cmd_tready),
        .txe_n(ft_txe_n), .rxf_n(ft_rxf_n), .wr_n(ft_wr_n), .rd_n(ft_rd_n), .oe_n(ft_oe_n),
        .be(ft_be), .data_out(ft_data_out), .data_oe(ft_data_oe), .data_in(ft_data_in)
    );
endmodule
