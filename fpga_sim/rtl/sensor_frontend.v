// Sensor clock domain: parallel pixel bus (frame-valid, line-valid, BPP-bit data) -> optional
// test pattern -> ROI crop -> optional 2x2 binning (sum of the four pixels) -> words for the
// clock-crossing FIFO. Configuration arrives from the bridge domain as a bus that is stable
// when `cfg_toggle` flips; it is captured after the toggle is synchronised and latched into
// the frame at frame-valid rise.
//
// FIFO words {kind[1:0], data[15:0]}: KIND_PIXEL (one output pixel), KIND_SOF (data =
// {test, crop, bin} of the frame), KIND_GEOM (twice: output width, output height), KIND_EOF
// (data = {lost, truncated}). At the first missing ROI pixel (short line, frame ended early)
// the frame is truncated: no more pixels are sent for it. The same holds after a pixel was
// lost because the FIFO was full (only when the bridge clock is slower than the pixel clock).
// The sensor must leave at least 4 pixel clocks between frame-valid rise and the first line.
`timescale 1ns / 1ps
`include "opensbs_regs.vh"
module sensor_frontend #(
    parameter BPP = 12,
    parameter SENSOR_WIDTH = 64,
    parameter SENSOR_HEIGHT = 48,
    parameter DIM_BITS = 14
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                fv,
    input  wire                lv,
    input  wire [BPP-1:0]      data,
    input  wire                cfg_toggle,
    input  wire [3:0]          cfg_control,
    input  wire [DIM_BITS-1:0] cfg_roi_x,
    input  wire [DIM_BITS-1:0] cfg_roi_y,
    input  wire [DIM_BITS-1:0] cfg_roi_w,
    input  wire [DIM_BITS-1:0] cfg_roi_h,
    output wire                wr_en,
    output wire [17:0]         wr_data,
    input  wire                wr_full,
    output wire                in_frame
);
    localparam [1:0] KIND_PIXEL = 2'd0, KIND_SOF = 2'd1, KIND_GEOM = 2'd2, KIND_EOF = 2'd3;
    localparam C_ENABLE = `OSBS_CONTROL_ENABLE_BIT, C_BIN = `OSBS_CONTROL_BINNING_2X2_BIT,
               C_CROP = `OSBS_CONTROL_CROP_BIT, C_TEST = `OSBS_CONTROL_TEST_PATTERN_BIT;
    localparam D = DIM_BITS;
    localparam integer WIDTH_INT = SENSOR_WIDTH, HEIGHT_INT = SENSOR_HEIGHT;
    localparam [D:0] SENSOR_W = WIDTH_INT[D:0], SENSOR_H = HEIGHT_INT[D:0];  // sized constants
    localparam LB_DEPTH = SENSOR_WIDTH / 2;
    localparam LB_BITS = $clog2(LB_DEPTH);

    // ---- configuration crossing ------------------------------------------------------------
    reg tog1, tog2, tog3;
    reg [3:0] s_control;
    reg [D-1:0] s_x, s_y, s_w, s_h;
    always @(posedge clk) begin
        if (rst) begin
            {tog1, tog2, tog3} <= 3'b000;
            s_control <= 4'd0;
            s_x <= 0;
            s_y <= 0;
            s_w <= SENSOR_W[D-1:0];
            s_h <= SENSOR_H[D-1:0];
        end else begin
            {tog3, tog2, tog1} <= {tog2, tog1, cfg_toggle};
            if (tog3 != tog2) begin
                s_control <= cfg_control;
                s_x <= cfg_roi_x;
                s_y <= cfg_roi_y;
                s_w <= cfg_roi_w;
                s_h <= cfg_roi_h;
            end
        end
    end

    // ---- input register and edges ----------------------------------------------------------
    reg fv_q, lv_q, fv_p, lv_p;
    reg [BPP-1:0] d_q;
    always @(posedge clk) begin
        if (rst) begin
            {fv_q, lv_q, fv_p, lv_p} <= 4'b0;
            d_q <= 0;
        end else begin
            fv_q <= fv;
            lv_q <= lv;
            fv_p <= fv_q;
            lv_p <= lv_q & fv_q;
            d_q <= data;
        end
    end
    wire frame_start = fv_q & ~fv_p;
    wire frame_end = fv_p & ~fv_q;
    wire pixel_valid = fv_q & lv_q;
    wire line_end = lv_p & ~(lv_q & fv_q);
    assign in_frame = fv_q;

    // ---- per-frame state -------------------------------------------------------------------
    reg active, f_bin, f_crop, f_test;
    reg [D-1:0] x0, y0, rw, rh;
    reg [D:0] x_end, y_end;
    reg [15:0] x, y;            // sensor column / line inside the frame
    reg [D:0] roi_cols, roi_rows;  // ROI pixels in this line, ROI lines completed
    reg stopped, truncated;
    reg [1:0] sof_phase;

    wire row_in_roi = (y >= {{(16 - D){1'b0}}, y0}) && (y < {{(15 - D){1'b0}}, y_end});
    wire col_in_roi = (x >= {{(16 - D){1'b0}}, x0}) && (x < {{(15 - D){1'b0}}, x_end});
    // position inside the ROI: the column modulo the line buffer's pair addresses, row parity
    wire [LB_BITS:0] rx = x[LB_BITS:0] - x0[LB_BITS:0];
    wire ry_odd = y[0] ^ y0[0];
    wire in_roi = pixel_valid & row_in_roi & col_in_roi;
    wire [BPP-1:0] pattern = x[BPP-1:0] + {y[BPP-5:0], 4'b0000};
    wire [BPP-1:0] pix = f_test ? pattern : d_q;
    wire short_line = line_end & row_in_roi & (roi_cols != {1'b0, rw});
    wire [D:0] rows_done_now = roi_rows + {{D{1'b0}}, line_end & row_in_roi};

    // ---- 2x2 binning: line buffer of horizontal pair sums from the even ROI line ---------------
    reg [BPP:0] lb [0:LB_DEPTH-1];
    reg [BPP:0] lb_q;
    reg [BPP-1:0] hold;
    wire [LB_BITS-1:0] lb_addr = rx[LB_BITS:1];
    wire [BPP:0] pair = {1'b0, hold} + {1'b0, pix};
    always @(posedge clk) begin
        lb_q <= lb[lb_addr];
        if (in_roi & f_bin & rx[0] & ~ry_odd) lb[lb_addr] <= pair;
    end
    wire [15:0] bin_sum = {{(15 - BPP){1'b0}}, lb_q} + {{(15 - BPP){1'b0}}, pair};

    // ---- output word (registered) ----------------------------------------------------------
    reg out_en;
    reg [1:0] out_kind;
    reg [15:0] out_data;
    reg lost;
    wire pixel_word = (out_kind == KIND_PIXEL);
    assign wr_en = out_en & ~(pixel_word & lost);
    wire stopped_by_loss = wr_en & wr_full & pixel_word;
    wire emit_pixel = active & ~stopped & in_roi & (~f_bin | (rx[0] & ry_odd));

    always @(posedge clk) begin
        if (rst) begin
            active <= 1'b0;
            {f_bin, f_crop, f_test} <= 3'b000;
            x0 <= 0;
            y0 <= 0;
            rw <= SENSOR_W[D-1:0];
            rh <= SENSOR_H[D-1:0];
            x_end <= SENSOR_W;
            y_end <= SENSOR_H;
            x <= 0;
            y <= 0;
            roi_cols <= 0;
            roi_rows <= 0;
            {stopped, truncated} <= 2'b00;
            sof_phase <= 2'd0;
            hold <= 0;
            out_en <= 1'b0;
            out_kind <= KIND_PIXEL;
            out_data <= 16'd0;
        end else begin
            out_en <= 1'b0;
            if (frame_start) begin
                active <= s_control[C_ENABLE];
                f_bin <= s_control[C_BIN];
                f_crop <= s_control[C_CROP];
                f_test <= s_control[C_TEST];
                if (s_control[C_CROP]) begin
                    x0 <= s_x;
                    y0 <= s_y;
                    rw <= s_w;
                    rh <= s_h;
                    x_end <= {1'b0, s_x} + {1'b0, s_w};
                    y_end <= {1'b0, s_y} + {1'b0, s_h};
                end else begin
                    x0 <= 0;
                    y0 <= 0;
                    rw <= SENSOR_W[D-1:0];
                    rh <= SENSOR_H[D-1:0];
                    x_end <= SENSOR_W;
                    y_end <= SENSOR_H;
                end
                x <= 0;
                y <= 0;
                roi_cols <= 0;
                roi_rows <= 0;
                {stopped, truncated} <= 2'b00;
                sof_phase <= s_control[C_ENABLE] ? 2'd1 : 2'd0;
            end else if (sof_phase != 2'd0) begin
                out_en <= 1'b1;
                sof_phase <= (sof_phase == 2'd3) ? 2'd0 : sof_phase + 2'd1;
                case (sof_phase)
                    2'd1: begin
                        out_kind <= KIND_SOF;
                        out_data <= {13'd0, f_test, f_crop, f_bin};
                    end
                    2'd2: begin
                        out_kind <= KIND_GEOM;
                        out_data <= f_bin ? {{(16 - D){1'b0}}, rw} >> 1 : {{(16 - D){1'b0}}, rw};
                    end
                    default: begin
                        out_kind <= KIND_GEOM;
                        out_data <= f_bin ? {{(16 - D){1'b0}}, rh} >> 1 : {{(16 - D){1'b0}}, rh};
                    end
                endcase
            end else if (frame_end) begin
                if (active) begin
                    out_en <= 1'b1;
                    out_kind <= KIND_EOF;
                    out_data <= {14'd0, 1'b0, truncated | short_line | (rows_done_now != {1'b0, rh})};
                end
                active <= 1'b0;
            end else if (emit_pixel) begin
                out_en <= 1'b1;
                out_kind <= KIND_PIXEL;
                out_data <= f_bin ? bin_sum : {{(16 - BPP){1'b0}}, pix};
            end

            if (pixel_valid) begin
                x <= x + 16'd1;
                if (in_roi) roi_cols <= roi_cols + 1'b1;
                if (in_roi & ~rx[0]) hold <= pix;
            end
            if (line_end) begin
                x <= 0;
                y <= y + 16'd1;
                roi_cols <= 0;
                roi_rows <= rows_done_now;
                if (short_line) {stopped, truncated} <= 2'b11;
            end
            if (stopped_by_loss) stopped <= 1'b1;
        end
    end

    // ---- FIFO write; a pixel that finds the FIFO full is lost and ends the frame's pixels -----
    always @(posedge clk) begin
        if (rst || frame_start) lost <= 1'b0;
        else if (stopped_by_loss) lost <= 1'b1;
    end
    assign wr_data = (out_kind == KIND_EOF) ? {KIND_EOF, out_data[15:2], lost, out_data[0]}
                                             : {out_kind, out_data};
endmodule
