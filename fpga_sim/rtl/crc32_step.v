// One 32-bit step of the reflected CRC-32 (IEEE 802.3 / zlib, polynomial 0xEDB88320).
// Bytes of a little-endian word are processed in wire order. A zlib CRC of a word stream is
// ~(step(...step(32'hFFFFFFFF, w0)..., wn)).
`timescale 1ns / 1ps
module crc32_step (
    input  wire [31:0] crc_in,
    input  wire [31:0] data,
    output wire [31:0] crc_out
);
    function [31:0] step;
        input [31:0] c;
        input [31:0] d;
        integer i;
        reg [31:0] r;
        begin
            r = c;
            for (i = 0; i < 32; i = i + 1)
                r = (r[0] ^ d[i]) ? ((r >> 1) ^ 32'hEDB88320) : (r >> 1);
            step = r;
        end
    endfunction

    assign crc_out = step(crc_in, data);
endmodule
