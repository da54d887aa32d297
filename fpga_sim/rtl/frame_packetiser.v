// Bridge clock domain: frame packetising, streamed (image link version 2).
//
// The header holds only what is known at frame start, so it goes out as soon as the frame's
// geometry has arrived; pixel pairs (32-bit words) pass through a small elastic FIFO of
// 2**FIFO_ADDR_BITS words that absorbs upstream stalls; the payload is zero-padded to
// width*height/2 words; the trailer (status OVERFLOW/TRUNCATED, reserved 0, delivered_pixels)
// and the CRC-32 of header+payload+trailer follow. A 4-entry descriptor FIFO holds each
// frame's header fields (written at frame start) and its completion (written at frame end).
//
// Overflow: when the elastic FIFO is full the frame keeps the words stored so far and is
// flagged OVERFLOW; its later pixels are dropped (sent as zero padding). When all 4
// descriptors are taken at frame start the whole frame is skipped (its sequence number is
// then missing upstream). Both count as a drop and an overflow event. The next frame starts
// clean. The writer never stalls the clock-crossing FIFO.
`timescale 1ns / 1ps
`include "opensbs_regs.vh"
module frame_packetiser #(
    parameter BPP = 12,
    parameter FIFO_ADDR_BITS = 9
) (
    input  wire        clk,
    input  wire        rst,
    // clock-crossing FIFO, first-word-fall-through
    input  wire        fifo_empty,
    input  wire [17:0] fifo_data,
    output wire        fifo_rd,
    // trigger
    input  wire [31:0] trig_count,
    input  wire [63:0] trig_us,
    input  wire        trig_fresh,
    output reg         trig_consume,
    input  wire [7:0]  channel,
    // upstream packet stream
    output reg  [31:0] m_tdata,
    output reg         m_tvalid,
    output reg         m_tlast,
    input  wire        m_tready,
    // events for the counters
    output reg         ev_frame_sent,
    output reg         ev_drop,
    output reg         ev_overflow
);
    localparam [1:0] KIND_PIXEL = 2'd0, KIND_SOF = 2'd1, KIND_GEOM = 2'd2, KIND_EOF = 2'd3;
    localparam SA = FIFO_ADDR_BITS;
    localparam WB = 28;  // payload word counts (8192 * 8192 / 2 fits)

    // ---- elastic FIFO of pixel-pair words ----------------------------------------------------
    reg [31:0] store [0:(1 << SA) - 1];
    reg [SA:0] wptr, wptr_d, rptr;
    reg [31:0] store_q;
    wire [SA:0] store_fill = wptr - rptr;
    wire store_full = store_fill[SA];

    // ---- descriptor FIFO: header fields at frame start, completion at frame end --------------
    reg [3:0]  d_flags [0:3];  // {no_trigger, test, crop, bin}
    reg [31:0] d_seq [0:3];
    reg [31:0] d_trig [0:3];
    reg [63:0] d_ts [0:3];
    reg [15:0] d_w [0:3];
    reg [15:0] d_h [0:3];
    reg [7:0]  d_channel [0:3];
    reg [1:0]  d_status [0:3];  // {truncated, overflow}
    reg [WB-1:0] d_words [0:3];  // words stored
    reg        d_odd [0:3];      // the last stored word holds one pixel
    reg [2:0] dh, de, dr;        // header written, end written, read (sent)
    wire desc_full = (dh - dr) == 3'd4;
    wire [1:0] di = dr[1:0];

    // ---- writer ----------------------------------------------------------------------------
    assign fifo_rd = ~fifo_empty;
    wire [1:0] kind = fifo_data[17:16];
    wire [15:0] word = fifo_data[15:0];
    wire take = ~fifo_empty;

    reg in_frame, skip, ovf, half, geom_phase;
    reg [15:0] lo;
    reg [31:0] seq;
    reg [WB-1:0] f_words;

    wire pixel_in = take & (kind == KIND_PIXEL) & in_frame & ~skip & ~ovf;
    wire eof_in = take & (kind == KIND_EOF) & in_frame;
    wire tail_write = eof_in & ~skip & ~ovf & half;  // odd pixel count: pad the last word
    wire write_req = (pixel_in & half) | tail_write;
    wire write_ok = write_req & ~store_full;
    wire eof_ovf = ovf | (write_req & store_full) | word[1];
    wire [1:0] eof_status = {word[0], eof_ovf};
    wire [1:0] wi = dh[1:0];  // descriptor of the frame being written (until its geometry)

    always @(posedge clk) begin
        if (write_ok) store[wptr[SA-1:0]] <= tail_write ? {16'd0, lo} : {word, lo};
    end

    always @(posedge clk) begin
        if (take && kind == KIND_SOF && !desc_full) begin
            d_flags[wi] <= {~trig_fresh, word[2:0]};
            d_seq[wi] <= seq;
            d_trig[wi] <= trig_count;
            d_ts[wi] <= trig_us;
            d_channel[wi] <= channel;
        end
        if (take && kind == KIND_GEOM && !skip) begin
            if (geom_phase) d_h[wi] <= word;
            else d_w[wi] <= word;
        end
        if (eof_in && !skip) begin
            d_status[de[1:0]] <= eof_status;
            d_words[de[1:0]] <= f_words + {{(WB - 1){1'b0}}, write_ok};
            d_odd[de[1:0]] <= tail_write & write_ok;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            wptr <= 0;
            wptr_d <= 0;
            dh <= 0;
            de <= 0;
            seq <= 0;
            in_frame <= 1'b0;
            skip <= 1'b0;
            ovf <= 1'b0;
            half <= 1'b0;
            geom_phase <= 1'b0;
            lo <= 0;
            f_words <= 0;
            trig_consume <= 1'b0;
            ev_drop <= 1'b0;
            ev_overflow <= 1'b0;
        end else begin
            trig_consume <= 1'b0;
            ev_drop <= 1'b0;
            ev_overflow <= 1'b0;
            wptr_d <= wptr;  // the reader sees a word one clock after its write (read-first RAM)
            if (take && kind == KIND_SOF) begin
                in_frame <= 1'b1;
                skip <= desc_full;
                ovf <= 1'b0;
                half <= 1'b0;
                geom_phase <= 1'b0;
                f_words <= 0;
                seq <= seq + 32'd1;
                trig_consume <= 1'b1;
            end
            if (take && kind == KIND_GEOM) begin
                geom_phase <= ~geom_phase;
                if (geom_phase && !skip) dh <= dh + 3'd1;  // header complete: may go out
            end
            if (pixel_in) begin
                if (!half) begin
                    lo <= word;
                    half <= 1'b1;
                end else begin
                    half <= 1'b0;
                    if (store_full) ovf <= 1'b1;
                end
            end
            if (write_ok) begin
                wptr <= wptr + 1'b1;
                f_words <= f_words + 1'b1;
            end
            if (eof_in) begin
                in_frame <= 1'b0;
                if (skip) begin
                    ev_drop <= 1'b1;
                    ev_overflow <= 1'b1;
                end else begin
                    ev_drop <= |eof_status;
                    ev_overflow <= eof_status[0];
                    de <= de + 3'd1;
                end
            end
        end
    end

    // ---- reader / packetiser ---------------------------------------------------------------
    localparam [2:0] R_IDLE = 3'd0, R_HDR = 3'd1, R_PAY = 3'd2, R_TRL = 3'd3, R_CRC = 3'd4;
    reg [2:0] rstate;
    reg [3:0] hidx;
    reg [WB-1:0] total_left;  // payload words still to send
    reg [WB-1:0] popped;      // stored words of this frame sent so far
    reg [WB-1:0] r_total;     // payload words of the frame being sent (registered multiply)
    reg [SA:0] rptr_plus1;
    reg [31:0] crc, crc_word;  // the CRC runs one word behind the output (timing)
    reg crc_valid;
    wire load = ~m_tvalid | m_tready;
    wire end_known = (de != dr);  // the frame being sent has ended upstream
    wire stored_all = end_known & (popped == d_words[di]);
    wire store_avail = (wptr_d != rptr);
    wire bin = d_flags[di][0];
    localparam integer BPP_PLAIN = BPP, BPP_BINNED = BPP + 2;  // bits per output pixel
    wire [7:0] bpp_out = bin ? BPP_BINNED[7:0] : BPP_PLAIN[7:0];
    wire [WB:0] delivered = {d_words[di], 1'b0} - {{WB{1'b0}}, d_odd[di]};

    always @(posedge clk) r_total <= (d_w[di] * d_h[di]) >> 1;

    reg [31:0] hdr_word;
    always @(*) begin
        case (hidx)
            4'd0: hdr_word = `OSBS_IMAGE_MAGIC;  // "OSIF"
            4'd1: hdr_word = {10'd0, d_flags[di], 2'b00, `OSBS_IMAGE_HEADER_BYTES,
                              `OSBS_IMAGE_LINK_VERSION};
            4'd2: hdr_word = d_seq[di];
            4'd3: hdr_word = d_trig[di];
            4'd4: hdr_word = d_ts[di][31:0];
            4'd5: hdr_word = d_ts[di][63:32];
            4'd6: hdr_word = {d_h[di], d_w[di]};
            4'd7: hdr_word = {16'd0, d_channel[di], bpp_out};
            default: hdr_word = {{(30 - WB){1'b0}}, r_total, 2'b00};
        endcase
    end

    wire from_store = ~stored_all & store_avail;
    wire pay_step = (rstate == R_PAY) & load & (from_store | stored_all);
    wire trl_step = (rstate == R_TRL) & load & end_known;
    wire pop = pay_step & from_store;
    reg [31:0] next_word;
    always @(*) begin
        case (rstate)
            R_HDR: next_word = hdr_word;
            R_PAY: next_word = from_store ? store_q : 32'd0;
            default: next_word = hidx[0] ? {{(31 - WB){1'b0}}, delivered}
                                         : {30'd0, d_status[di]};
        endcase
    end
    wire [31:0] crc_next;
    crc32_step u_crc (.crc_in(crc), .data(crc_word), .crc_out(crc_next));

    wire [SA-1:0] rd_addr = pop ? rptr_plus1[SA-1:0] : rptr[SA-1:0];
    always @(posedge clk) store_q <= store[rd_addr];

    always @(posedge clk) begin
        if (rst) begin
            rstate <= R_IDLE;
            rptr <= 0;
            rptr_plus1 <= 1;
            dr <= 0;
            hidx <= 0;
            total_left <= 0;
            popped <= 0;
            crc <= 32'hFFFFFFFF;
            crc_word <= 0;
            crc_valid <= 1'b0;
            m_tdata <= 0;
            m_tvalid <= 1'b0;
            m_tlast <= 1'b0;
            ev_frame_sent <= 1'b0;
        end else begin
            ev_frame_sent <= m_tvalid & m_tready & m_tlast;
            if (m_tready) m_tvalid <= 1'b0;
            if (pop) begin
                rptr <= rptr_plus1;
                rptr_plus1 <= rptr_plus1 + 1'b1;
                popped <= popped + 1'b1;
            end
            crc_valid <= 1'b0;
            if (crc_valid) crc <= crc_next;
            crc_word <= next_word;
            case (rstate)
                R_IDLE: begin
                    hidx <= 0;
                    popped <= 0;
                    crc <= 32'hFFFFFFFF;
                    if (dh != dr) rstate <= R_HDR;
                end
                R_HDR: if (load) begin
                    m_tdata <= next_word;
                    m_tvalid <= 1'b1;
                    m_tlast <= 1'b0;
                    crc_valid <= 1'b1;
                    hidx <= hidx + 4'd1;
                    if (hidx == 4'd8) begin
                        rstate <= R_PAY;
                        total_left <= r_total;
                    end
                end
                R_PAY: if (pay_step) begin
                    m_tdata <= next_word;
                    m_tvalid <= 1'b1;
                    crc_valid <= 1'b1;
                    total_left <= total_left - 1'b1;
                    hidx <= 4'd0;
                    if (total_left == 1) rstate <= R_TRL;
                end
                R_TRL: if (trl_step) begin
                    m_tdata <= next_word;
                    m_tvalid <= 1'b1;
                    crc_valid <= 1'b1;
                    hidx <= hidx + 4'd1;
                    if (hidx[0]) rstate <= R_CRC;
                end
                default: if (load) begin  // R_CRC
                    m_tdata <= ~(crc_valid ? crc_next : crc);
                    m_tvalid <= 1'b1;
                    m_tlast <= 1'b1;
                    dr <= dr + 3'd1;
                    rstate <= R_IDLE;
                end
            endcase
        end
    end
endmodule
