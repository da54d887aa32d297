// Bridge clock domain: register file driven by 16-byte register command packets (four
// little-endian 32-bit words: "OSRC", {address, tag, op}, value, CRC-32 of the first 12
// bytes) and answering each with a 16-byte reply ("OSRR", {address, status, tag}, value, CRC).
// A first word that is not "OSRC" is discarded (resynchronisation). Checks, in order: CRC
// (BAD_CRC), op (BAD_VALUE unless WRITE/READ), address (BAD_ADDRESS), write to a read-only
// register (READ_ONLY), value (BAD_VALUE). The reply value is the register's value after the
// command, 0 for an unknown address or a bad CRC. Commands are not accepted while a reply is
// pending (backpressure).
// Addresses, IDs, magics and version come from opensbs_regs.vh, generated from the host's
// protocol declarations (python -m opensbs.protocol.codegen).
`timescale 1ns / 1ps
`include "opensbs_regs.vh"
module register_file #(
    parameter SENSOR_WIDTH = 64,
    parameter SENSOR_HEIGHT = 48,
    parameter DIM_BITS = 14
) (
    input  wire                clk,
    input  wire                rst,
    // downstream command words
    input  wire [31:0]         s_tdata,
    input  wire                s_tvalid,
    output wire                s_tready,
    // upstream reply words
    output reg  [31:0]         r_tdata,
    output reg                 r_tvalid,
    output reg                 r_tlast,
    input  wire                r_tready,
    // configuration
    output reg  [3:0]          control,
    output reg  [DIM_BITS-1:0] roi_x,
    output reg  [DIM_BITS-1:0] roi_y,
    output reg  [DIM_BITS-1:0] roi_w,
    output reg  [DIM_BITS-1:0] roi_h,
    output reg  [7:0]          channel,
    output reg                 cfg_toggle,
    // counters and status
    input  wire                ev_frame_sent,
    input  wire                ev_drop,
    input  wire                ev_overflow,
    input  wire [31:0]         trigger_count,
    input  wire                in_frame,
    output reg                 counter_clear
);
    localparam [31:0] CMD_MAGIC = `OSBS_CMD_MAGIC, REPLY_MAGIC = `OSBS_REPLY_MAGIC;
    localparam [31:0] ID_VALUE = `OSBS_ID_VALUE, VERSION_VALUE = `OSBS_VERSION_VALUE;
    localparam [15:0] A_ID = `OSBS_REG_ID, A_VERSION = `OSBS_REG_VERSION,
                      A_CONTROL = `OSBS_REG_CONTROL, A_ROI_X = `OSBS_REG_ROI_X,
                      A_ROI_Y = `OSBS_REG_ROI_Y, A_ROI_W = `OSBS_REG_ROI_WIDTH,
                      A_ROI_H = `OSBS_REG_ROI_HEIGHT, A_CHANNEL = `OSBS_REG_CHANNEL,
                      A_FRAMES = `OSBS_REG_FRAME_COUNT, A_DROPS = `OSBS_REG_DROP_COUNT,
                      A_OVERFLOWS = `OSBS_REG_OVERFLOW_COUNT,
                      A_TRIGGERS = `OSBS_REG_TRIGGER_COUNT, A_STATUS = `OSBS_REG_STATUS,
                      A_CLEAR = `OSBS_REG_COUNTER_CLEAR;
    localparam [7:0] OP_WRITE = `OSBS_OP_WRITE, OP_READ = `OSBS_OP_READ;
    localparam [7:0] ST_OK = `OSBS_ST_OK, ST_BAD_ADDRESS = `OSBS_ST_BAD_ADDRESS,
                     ST_READ_ONLY = `OSBS_ST_READ_ONLY, ST_BAD_VALUE = `OSBS_ST_BAD_VALUE,
                     ST_BAD_CRC = `OSBS_ST_BAD_CRC;
    localparam [2:0] P_COLLECT = 3'd0, P_EXEC = 3'd1, P_READ = 3'd2, P_CRC = 3'd3, P_SEND = 3'd4;

    reg [2:0] pstate;
    reg [1:0] widx;
    reg [31:0] w1, w2, crc;
    reg crc_ok;
    reg [7:0] status;
    reg [31:0] frames, drops, overflows;
    reg overflow_seen;
    reg [31:0] reply [0:3];
    wire [31:0] crc_next;
    reg [31:0] crc_data;
    crc32_step u_crc (.crc_in(crc), .data(crc_data), .crc_out(crc_next));

    wire [7:0] op = w1[7:0];
    wire [7:0] tag = w1[15:8];
    wire [15:0] addr = w1[31:16];
    wire [31:0] value = w2;
    wire addr_ok = (addr[1:0] == 2'b00) && (addr <= A_CLEAR);
    wire read_only = (addr == A_ID) || (addr == A_VERSION) || (addr == A_FRAMES) ||
                     (addr == A_DROPS) || (addr == A_OVERFLOWS) || (addr == A_TRIGGERS) ||
                     (addr == A_STATUS);
    wire binning = control[1];
    // the sensor geometry at the width of the ROI registers, plus a bit (lint: sized constants)
    localparam integer WIDTH_INT = SENSOR_WIDTH, HEIGHT_INT = SENSOR_HEIGHT;
    localparam [DIM_BITS:0] SENSOR_W = WIDTH_INT[DIM_BITS:0], SENSOR_H = HEIGHT_INT[DIM_BITS:0];
    wire [DIM_BITS-1:0] v = value[DIM_BITS-1:0];
    wire v_fits = (value[31:DIM_BITS] == 0);
    reg value_ok;
    always @(*) begin
        case (addr)
            A_CONTROL: value_ok = (value[31:4] == 0) &&
                                  (!value[1] || (roi_w[1:0] == 2'b00 && !roi_h[0]));
            A_ROI_X: value_ok = v_fits && ({1'b0, v} < SENSOR_W);
            A_ROI_Y: value_ok = v_fits && ({1'b0, v} < SENSOR_H);
            A_ROI_W: value_ok = v_fits && (v != 0) && ({1'b0, v} <= SENSOR_W) && !v[0] &&
                                !(binning && v[1]);
            A_ROI_H: value_ok = v_fits && (v != 0) && ({1'b0, v} <= SENSOR_H) && !(binning && v[0]);
            A_CHANNEL: value_ok = (value[31:8] == 0);
            default: value_ok = (value[31:1] == 0);  // COUNTER_CLEAR
        endcase
    end

    reg [31:0] read_value;
    always @(*) begin
        case (addr)
            A_ID: read_value = ID_VALUE;
            A_VERSION: read_value = VERSION_VALUE;
            A_CONTROL: read_value = {28'd0, control};
            A_ROI_X: read_value = {{(32 - DIM_BITS){1'b0}}, roi_x};
            A_ROI_Y: read_value = {{(32 - DIM_BITS){1'b0}}, roi_y};
            A_ROI_W: read_value = {{(32 - DIM_BITS){1'b0}}, roi_w};
            A_ROI_H: read_value = {{(32 - DIM_BITS){1'b0}}, roi_h};
            A_CHANNEL: read_value = {24'd0, channel};
            A_FRAMES: read_value = frames;
            A_DROPS: read_value = drops;
            A_OVERFLOWS: read_value = overflows;
            A_TRIGGERS: read_value = trigger_count;
            A_STATUS: read_value = {29'd0, in_frame, overflow_seen, control[0]};
            default: read_value = 32'd0;
        endcase
    end

    always @(*) begin
        case (pstate)
            P_COLLECT: crc_data = s_tdata;
            default: crc_data = reply[widx];
        endcase
    end

    assign s_tready = (pstate == P_COLLECT);
    wire word_in = s_tvalid & s_tready;

    always @(posedge clk) begin
        if (rst) begin
            pstate <= P_COLLECT;
            widx <= 0;
            w1 <= 0;
            w2 <= 0;
            crc <= 32'hFFFFFFFF;
            crc_ok <= 1'b0;
            status <= ST_OK;
            control <= 4'd0;
            roi_x <= 0;
            roi_y <= 0;
            roi_w <= SENSOR_W[DIM_BITS-1:0];
            roi_h <= SENSOR_H[DIM_BITS-1:0];
            channel <= 8'd0;
            cfg_toggle <= 1'b0;
            counter_clear <= 1'b0;
            r_tdata <= 0;
            r_tvalid <= 1'b0;
            r_tlast <= 1'b0;
        end else begin
            counter_clear <= 1'b0;
            case (pstate)
                P_COLLECT: if (word_in) begin
                    if (widx == 2'd0) begin
                        if (s_tdata == CMD_MAGIC) begin
                            crc <= crc_next;
                            widx <= 2'd1;
                        end
                    end else begin
                        widx <= widx + 2'd1;
                        if (widx == 2'd1) w1 <= s_tdata;
                        if (widx == 2'd2) w2 <= s_tdata;
                        if (widx != 2'd3) crc <= crc_next;
                        else begin
                            crc_ok <= (s_tdata == ~crc);
                            pstate <= P_EXEC;
                        end
                    end
                end
                P_EXEC: begin
                    pstate <= P_READ;
                    if (!crc_ok) status <= ST_BAD_CRC;
                    else if (op != OP_WRITE && op != OP_READ) status <= ST_BAD_VALUE;
                    else if (!addr_ok) status <= ST_BAD_ADDRESS;
                    else if (op == OP_READ) status <= ST_OK;
                    else if (read_only) status <= ST_READ_ONLY;
                    else if (!value_ok) status <= ST_BAD_VALUE;
                    else begin
                        status <= ST_OK;
                        case (addr)
                            A_CONTROL: control <= value[3:0];
                            A_ROI_X: roi_x <= v;
                            A_ROI_Y: roi_y <= v;
                            A_ROI_W: roi_w <= v;
                            A_ROI_H: roi_h <= v;
                            A_CHANNEL: channel <= value[7:0];
                            default: counter_clear <= value[0];
                        endcase
                    end
                end
                P_READ: begin
                    reply[0] <= REPLY_MAGIC;
                    reply[1] <= {addr, status, tag};
                    reply[2] <= (crc_ok && addr_ok) ? read_value : 32'd0;
                    crc <= 32'hFFFFFFFF;
                    widx <= 2'd0;
                    cfg_toggle <= ~cfg_toggle;
                    pstate <= P_CRC;
                end
                P_CRC: begin
                    crc <= crc_next;
                    widx <= widx + 2'd1;
                    if (widx == 2'd2) begin
                        reply[3] <= ~crc_next;
                        widx <= 2'd0;
                        pstate <= P_SEND;
                    end
                end
                default: begin  // P_SEND
                    if (!r_tvalid || r_tready) begin
                        r_tdata <= reply[widx];
                        r_tvalid <= 1'b1;
                        r_tlast <= (widx == 2'd3);
                        widx <= widx + 2'd1;
                        if (r_tvalid && r_tlast) begin  // the last word was just taken
                            r_tvalid <= 1'b0;
                            r_tlast <= 1'b0;
                            widx <= 2'd0;
                            crc <= 32'hFFFFFFFF;
                            pstate <= P_COLLECT;
                        end
                    end
                end
            endcase
        end
    end

    always @(posedge clk) begin
        if (rst || counter_clear) begin
            frames <= 0;
            drops <= 0;
            overflows <= 0;
            overflow_seen <= 1'b0;
        end else begin
            frames <= frames + ev_frame_sent;
            drops <= drops + ev_drop;
            overflows <= overflows + ev_overflow;
            if (ev_overflow) overflow_seen <= 1'b1;
        end
    end
endmodule
