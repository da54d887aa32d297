// Bridge clock domain: frame assembly and packetising (store-and-forward).
//
// The image header precedes the payload but carries OVERFLOW/TRUNCATED, which are known only
// at frame end, so each frame is stored (pixel pairs as 32-bit words in a circular store of
// 2**STORE_ADDR_BITS words) and described (a 4-entry descriptor FIFO) before its header goes
// out. The reader sends header, the stored words, zero words up to width*height/2, then the
// CRC-32 of header+payload; it reads only whole, described frames, so it never outruns the
// writer.
//
// Overflow: when the store is full the frame keeps the words stored so far and is flagged
// OVERFLOW; later pixels of that frame are dropped (sent as zero). When all 4 descriptors are
// taken at frame start the whole frame is skipped (its sequence number is then missing
// upstream). Both count as a drop and an overflow event. The next frame starts clean.
`timescale 1ns / 1ps
module frame_packetiser #(
    parameter BPP = 12,
    parameter STORE_ADDR_BITS = 11
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
    localparam SA = STORE_ADDR_BITS;
    localparam WB = 28;  // payload word counts (8192 * 8192 / 2 fits)
    localparam F_OVERFLOW = 0, F_TRUNCATED = 1, F_BINNED = 2, F_CROPPED = 3, F_TEST = 4,
               F_NO_TRIGGER = 5;

    // ---- store ---------------------------------------------------------------------------
    reg [31:0] store [0:(1 << SA) - 1];
    reg [SA:0] wptr, rptr;
    reg [31:0] store_q;
    wire [SA:0] store_fill = wptr - rptr;
    wire store_full = store_fill[SA];

    // ---- descriptor FIFO -------------------------------------------------------------------
    reg [5:0]  d_flags [0:3];
    reg [31:0] d_seq [0:3];
    reg [31:0] d_trig [0:3];
    reg [63:0] d_ts [0:3];
    reg [15:0] d_w [0:3];
    reg [15:0] d_h [0:3];
    reg [7:0]  d_channel [0:3];
    reg [WB-1:0] d_total [0:3];
    reg [WB-1:0] d_words [0:3];
    reg [2:0] dw, dr;
    wire desc_full = (dw - dr) == 3'd4;
    wire desc_empty = (dw == dr);
    wire [1:0] di = dr[1:0];

    // ---- writer ----------------------------------------------------------------------------
    assign fifo_rd = ~fifo_empty;
    wire [1:0] kind = fifo_data[17:16];
    wire [15:0] word = fifo_data[15:0];
    wire take = ~fifo_empty;

    reg in_frame, skip, ovf, half, geom_phase;
    reg [15:0] lo;
    reg [5:0] f_flags;
    reg [31:0] seq, f_seq, f_trig;
    reg [63:0] f_ts;
    reg [15:0] f_w, f_h;
    reg [7:0] f_channel;
    reg [WB-1:0] f_total, f_words;

    wire pixel_in = take & (kind == KIND_PIXEL) & in_frame & ~skip & ~ovf;
    wire eof_in = take & (kind == KIND_EOF) & in_frame;
    wire tail_write = eof_in & ~skip & ~ovf & half;  // odd pixel count: pad the last word
    wire write_req = (pixel_in & half) | tail_write;
    wire write_ok = write_req & ~store_full;
    wire eof_ovf = ovf | (write_req & store_full) | word[1];
    wire [5:0] eof_flags = f_flags | {4'b0000, word[0], eof_ovf};

    always @(posedge clk) begin
        if (write_ok) store[wptr[SA-1:0]] <= tail_write ? {16'd0, lo} : {word, lo};
    end

    always @(posedge clk) begin
        if (rst) begin
            wptr <= 0;
            dw <= 0;
            seq <= 0;
            in_frame <= 1'b0;
            skip <= 1'b0;
            ovf <= 1'b0;
            half <= 1'b0;
            geom_phase <= 1'b0;
            lo <= 0;
            f_flags <= 0;
            f_seq <= 0;
            f_trig <= 0;
            f_ts <= 0;
            f_w <= 0;
            f_h <= 0;
            f_channel <= 0;
            f_words <= 0;
            trig_consume <= 1'b0;
            ev_drop <= 1'b0;
            ev_overflow <= 1'b0;
        end else begin
            trig_consume <= 1'b0;
            ev_drop <= 1'b0;
            ev_overflow <= 1'b0;
            if (take && kind == KIND_SOF) begin
                in_frame <= 1'b1;
                skip <= desc_full;
                ovf <= 1'b0;
                half <= 1'b0;
                geom_phase <= 1'b0;
                f_words <= 0;
                f_flags <= {~trig_fresh, word[2], word[1], word[0], 2'b00};
                f_seq <= seq;
                seq <= seq + 32'd1;
                f_trig <= trig_count;
                f_ts <= trig_us;
                f_channel <= channel;
                trig_consume <= 1'b1;
            end
            if (take && kind == KIND_GEOM) begin
                geom_phase <= ~geom_phase;
                if (geom_phase) f_h <= word;
                else f_w <= word;
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
                    ev_drop <= eof_flags[F_OVERFLOW] | eof_flags[F_TRUNCATED];
                    ev_overflow <= eof_flags[F_OVERFLOW];
                    d_flags[dw[1:0]] <= eof_flags;
                    d_seq[dw[1:0]] <= f_seq;
                    d_trig[dw[1:0]] <= f_trig;
                    d_ts[dw[1:0]] <= f_ts;
                    d_w[dw[1:0]] <= f_w;
                    d_h[dw[1:0]] <= f_h;
                    d_channel[dw[1:0]] <= f_channel;
                    d_total[dw[1:0]] <= f_total;
                    d_words[dw[1:0]] <= f_words + {{(WB - 1){1'b0}}, write_ok};
                    dw <= dw + 3'd1;
                end
            end
        end
    end

    // payload words of the frame being assembled (registered multiply, ready long before EOF)
    always @(posedge clk) f_total <= (f_w * f_h) >> 1;

    // ---- reader / packetiser ---------------------------------------------------------------
    localparam [1:0] R_IDLE = 2'd0, R_HDR = 2'd1, R_PAY = 2'd2, R_CRC = 2'd3;
    reg [1:0] rstate;
    reg [3:0] hidx;
    reg [WB-1:0] words_left, total_left;  // of the frame being sent: stored / payload words
    reg store_more;                        // words_left != 0, registered (timing)
    reg [SA:0] rptr_plus1;
    reg [31:0] crc, crc_word;  // the CRC runs one word behind the output (timing)
    reg crc_valid;
    wire load = ~m_tvalid | m_tready;
    wire bin = d_flags[di][F_BINNED];
    wire [7:0] bpp_out = bin ? BPP + 2 : BPP;
    wire [31:0] payload_bytes = {d_total[di], 2'b00};

    reg [31:0] hdr_word;
    always @(*) begin
        case (hidx)
            4'd0: hdr_word = 32'h4649534F;  // "OSIF"
            4'd1: hdr_word = {10'd0, d_flags[di], 8'd36, 8'd1};
            4'd2: hdr_word = d_seq[di];
            4'd3: hdr_word = d_trig[di];
            4'd4: hdr_word = d_ts[di][31:0];
            4'd5: hdr_word = d_ts[di][63:32];
            4'd6: hdr_word = {d_h[di], d_w[di]};
            4'd7: hdr_word = {16'd0, d_channel[di], bpp_out};
            default: hdr_word = payload_bytes;
        endcase
    end

    wire pop = (rstate == R_PAY) & load & store_more;
    wire [31:0] next_word = (rstate == R_HDR) ? hdr_word : (store_more ? store_q : 32'd0);
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
            words_left <= 0;
            total_left <= 0;
            store_more <= 1'b0;
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
            end
            crc_valid <= 1'b0;
            if (crc_valid) crc <= crc_next;
            crc_word <= next_word;
            case (rstate)
                R_IDLE: begin
                    hidx <= 0;
                    crc <= 32'hFFFFFFFF;
                    if (!desc_empty) rstate <= R_HDR;
                end
                R_HDR: if (load) begin
                    m_tdata <= next_word;
                    m_tvalid <= 1'b1;
                    m_tlast <= 1'b0;
                    crc_valid <= 1'b1;
                    hidx <= hidx + 4'd1;
                    if (hidx == 4'd8) begin
                        rstate <= R_PAY;
                        words_left <= d_words[di];
                        total_left <= d_total[di];
                        store_more <= (d_words[di] != 0);
                    end
                end
                R_PAY: if (load) begin
                    m_tdata <= next_word;
                    m_tvalid <= 1'b1;
                    crc_valid <= 1'b1;
                    total_left <= total_left - 1'b1;
                    if (total_left == 1) rstate <= R_CRC;
                    if (store_more) begin
                        words_left <= words_left - 1'b1;
                        store_more <= (words_left != 1);
                    end
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
