// Reset synchroniser: asserts asynchronously, releases synchronously to clk.
`timescale 1ns / 1ps
module reset_sync (
    input  wire clk,
    input  wire rst_async,
    output wire rst
);
    reg [1:0] q;
    always @(posedge clk or posedge rst_async)
        if (rst_async) q <= 2'b11;
        else q <= {q[0], 1'b0};
    assign rst = q[1];
endmodule
