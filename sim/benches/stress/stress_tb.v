// Stream stress bench for one generated exactbn unit (plain Verilog-2005, Icarus/Verilator).
//
// The unit (RAM store, channels mode, one lane) comes from `exactbn generate`; the settings
// come from stress_cfg.vh and the tables from two hex files written by sim/benches/stress:
//   VEC_FILE : one input vector a line {x, channel, q under parameter set A, q under set B}
//   PAR_FILE : one channel a line {M_A, B_A, N_A, M_B, B_B, N_B}
// Expected values are golden's integer model (exactbn.generate.expected_outputs); set B of a
// channel is another channel's solved parameters, so a cfg write changes its outputs.
//
// Traffic, in random phases: full rate, random valid/ready, antiphase (valid offered on even
// cycles and withdrawn on odd ones, ready on odd cycles only), valid withdrawn before its
// handshake (with new data), 1,000-cycle sink stalls, cfg storms; at random cycles a 1-cycle
// reset with traffic going on, and cfg writes held across resets (CFG_IN_RESET 0, as
// hw/README.md states: cfg_ready is low in a reset cycle, checked; 1: a write handshaken in
// a reset cycle takes effect). The scoreboard queues the expected output
// of every accepted beat (set A or B as the channel's parameters stood at its handshake),
// drops the queue on reset, and checks every output beat: data, tuser, tlast, none lost,
// duplicated or reordered, m_axis held stable while not taken, cfg_error as written.
// Prints "STRESS PASS beats=... cycles=... resets=... cfg_writes=..." or the first error.
`timescale 1ns/1ps
`include "stress_cfg.vh"
module stress_tb;
  localparam WV = `WX + `WU + 2 * `WQ;
  localparam WP = 2 * (`WM + `WB + `WN);
  reg clk = 1'b0;
  reg rst = 1'b1;
  reg [WV-1:0] vec [0:`NV-1];
  reg [WP-1:0] par [0:`NCH-1];
  reg bank [0:`NCH-1];

  reg s_valid = 1'b0;
  reg [`WX-1:0] s_data = 0;
  reg [`WU-1:0] s_user = 0;
  reg s_last = 1'b0;
  reg [`WQ-1:0] s_expa = 0, s_expb = 0;
  wire s_ready;
  reg m_ready = 1'b0;
  wire m_valid;
  wire [`WQ-1:0] m_data;
  wire [`WU-1:0] m_user;
  wire m_last;
  reg cfg_valid = 1'b0;
  reg [`WA-1:0] cfg_addr = 0;
  reg [`WM-1:0] cfg_m = 0;
  reg [`WB-1:0] cfg_b = 0;
  reg [`WN-1:0] cfg_n = 0;
  wire cfg_ready;
  wire cfg_error;

  `DUT dut (
    .clk(clk), .rst(rst),
    .s_axis_tvalid(s_valid), .s_axis_tready(s_ready), .s_axis_tdata(s_data),
    .s_axis_tuser(s_user), .s_axis_tlast(s_last),
    .m_axis_tvalid(m_valid), .m_axis_tready(m_ready), .m_axis_tdata(m_data),
    .m_axis_tuser(m_user), .m_axis_tlast(m_last),
    .cfg_valid(cfg_valid), .cfg_ready(cfg_ready), .cfg_addr(cfg_addr), .cfg_m(cfg_m),
    .cfg_b(cfg_b), .cfg_n(cfg_n), .cfg_error(cfg_error)
  );

  // scoreboard queue: expected {q, tuser, tlast} of every beat accepted and not yet out
  localparam QD = 256;
  reg [`WQ+`WU:0] q_mem [0:QD-1];
  integer q_head = 0, q_tail = 0, q_len = 0;

  reg [31:0] rnd = `SEED;
  function [31:0] xs32(input [31:0] v);
    reg [31:0] t;
    begin
      t = v ^ (v << 13);
      t = t ^ (t >> 17);
      xs32 = t ^ (t << 5);
    end
  endfunction
  task roll;
    rnd = xs32(rnd);
  endtask

  integer beats = 0, cycles = 0, resets = 0, writes = 0, writes_in_reset = 0, bad_writes = 0;
  integer hs_in_reset = 0, accepted = 0, stalls = 0, withdrawn = 0, idle_out = 0, i;
  integer phase = 0, phase_left = 0;
  reg err_model = 1'b0;
  reg prev_hold = 1'b0;
  reg [`WQ+`WU:0] prev_out = 0;
  reg [WP-1:0] pw;
  reg [`WA-1:0] waddr;
  reg cfg_bank;
  reg s_hs = 1'b0, c_hs = 1'b0;

  task fail(input [8*64-1:0] what);
    begin
      $display("STRESS FAIL %0s at cycle %0d beat %0d: got q=%0d tuser=%0d tlast=%0d",
               what, cycles, beats, m_data, m_user, m_last);
      if (q_len > 0)
        $display("  expected q=%0d tuser=%0d tlast=%0d (queue %0d)",
                 q_mem[q_head][`WQ+`WU:`WU+1], q_mem[q_head][`WU:1], q_mem[q_head][0], q_len);
      $finish;
    end
  endtask

  always #5 clk = ~clk;

  // ---------------------------------------------------------------- checks at each edge
  always @(posedge clk) begin
    cycles = cycles + 1;
    s_hs = s_valid && s_ready;  // handshakes as the source and the cfg master see them
    c_hs = cfg_valid && cfg_ready;
    if (cfg_error !== err_model) fail("cfg_error");
    if (rst) begin
      q_len = 0; q_head = 0; q_tail = 0;  // beats in flight are discarded
      prev_hold = 1'b0;
      if (cfg_valid && cfg_ready) hs_in_reset = hs_in_reset + 1;
      if (cfg_ready && !`CFG_IN_RESET) fail("cfg_ready high in a reset cycle");
      if (cfg_valid && cfg_ready && `CFG_IN_RESET && cfg_addr < `NCH)
        bank[cfg_addr] = cfg_bank;
      err_model = 1'b0;
    end else begin
      if (prev_hold && !(m_valid && {m_data, m_user, m_last} === prev_out))
        fail("m_axis changed or withdrawn before its handshake");
      if (m_valid && m_ready) begin
        if (q_len == 0) fail("output beat that was never accepted (duplicate?)");
        if ({m_data, m_user, m_last} !== q_mem[q_head]) fail("wrong or reordered beat");
        q_head = (q_head + 1) % QD; q_len = q_len - 1;
        beats = beats + 1;
        idle_out = 0;
      end else if (m_ready && q_len > 0) begin
        idle_out = idle_out + 1;
        if (idle_out > `LATENCY + 40) fail("beat lost: sink ready, nothing comes out");
      end
      prev_hold = m_valid && !m_ready;
      prev_out = {m_data, m_user, m_last};
      if (s_valid && s_ready) begin
        q_mem[q_tail] = {bank[s_user] ? s_expb : s_expa, s_user, s_last};
        q_tail = (q_tail + 1) % QD; q_len = q_len + 1;
        accepted = accepted + 1;
        if (q_len >= QD) fail("more beats in flight than the queue holds");
      end
      if (cfg_valid && cfg_ready) begin
        if (cfg_addr < `NCH) bank[cfg_addr] = cfg_bank;
        else err_model = 1'b1;
      end
    end
  end

  // ---------------------------------------------------------------- stimulus at negedges
  task new_beat;
    begin
      roll;
      {s_data, s_user, s_expa, s_expb} = vec[rnd % `NV];
      roll;
      s_last = rnd[7];
    end
  endtask

  task start_write(input in_reset);
    begin
      roll;
      waddr = rnd % `NCH;
      roll;
      if (!in_reset && rnd[4:0] == 0) begin
        waddr = `NCH + rnd[9:8] % 2;  // out of range: only sets cfg_error
        bad_writes = bad_writes + 1;
      end
      cfg_bank = waddr < `NCH ? ~bank[waddr] : 1'b0;
      pw = par[waddr < `NCH ? waddr : 0];
      if (cfg_bank) {cfg_m, cfg_b, cfg_n} = pw[WP/2-1:0];
      else {cfg_m, cfg_b, cfg_n} = pw[WP-1:WP/2];
      cfg_addr = waddr;
      cfg_valid = 1'b1;
      writes = writes + 1;
      if (in_reset) writes_in_reset = writes_in_reset + 1;
    end
  endtask

  reg was_rst;
  initial begin
    $readmemh(`VEC_FILE, vec);
    $readmemh(`PAR_FILE, par);
    for (i = 0; i < `NCH; i = i + 1) bank[i] = 1'b0;
    repeat (3) @(posedge clk);
    @(negedge clk);
    rst = 1'b0;
    while (beats < `BEATS) begin
      @(negedge clk);
      if (c_hs) cfg_valid = 1'b0;
      was_rst = rst;
      if (phase_left == 0) begin
        roll;
        phase = rnd % 7;
        roll;
        phase_left = phase == 4 ? 1000 : 200 + rnd % 3000;
        if (phase == 4) stalls = stalls + 1;
      end
      phase_left = phase_left - 1;
      // 1-cycle resets with traffic going on; sometimes with a cfg write held across it
      roll;
      // more often while a cfg write waits, so that writes meet reset cycles
      rst = (rnd[11:0] == 0 || (cfg_valid && rnd[17:12] == 0))
            && !(cfg_valid && cfg_addr >= `NCH);  // keep cfg_error unambiguous
      if (rst) begin
        resets = resets + 1;
        roll;
        if (!cfg_valid && rnd[0]) start_write(1'b1);
      end
      if (!cfg_valid && !rst && !was_rst) begin
        roll;
        if (phase == 6 ? rnd[3:0] == 0 : rnd[9:0] == 0) start_write(1'b0);
      end
      // source
      if (s_hs || !s_valid) begin
        s_valid = 1'b0;
        roll;
        case (phase)
          0, 4, 6: s_valid = 1'b1;
          1: s_valid = rnd[1:0] != 0;
          2: s_valid = cycles % 2 == 0;
          3: s_valid = rnd[0];
          5: s_valid = rnd[2:0] == 0;
        endcase
        if (s_valid) new_beat;
      end else begin  // a beat offered and not taken yet
        roll;
        if ((phase == 2 && cycles % 2 == 1) || (phase == 3 && rnd[2:0] == 0)) begin
          s_valid = 1'b0;  // withdrawn before its handshake
          withdrawn = withdrawn + 1;
        end else if (phase == 3 && rnd[5:3] == 0) begin
          new_beat;  // other data, still not accepted
        end
      end
      // sink
      roll;
      case (phase)
        0, 6: m_ready = 1'b1;
        1: m_ready = rnd[0];
        2: m_ready = cycles % 2 == 1;
        3: m_ready = rnd[1:0] != 0;
        4: m_ready = 1'b0;
        5: m_ready = rnd[3:0] != 0;
      endcase
      if (cycles > `MAX_CYCLES) begin
        $display("STRESS FAIL timeout: %0d beats in %0d cycles", beats, cycles);
        $finish;
      end
    end
    // drain: every accepted beat must come out
    cfg_valid = 1'b0;
    s_valid = 1'b0;
    m_ready = 1'b1;
    repeat (`LATENCY + 20) @(negedge clk);
    if (q_len != 0) fail("beats still missing after the drain");
    $display({"STRESS PASS beats=%0d accepted=%0d cycles=%0d resets=%0d cfg_writes=%0d ",
              "cfg_handshakes_in_reset=%0d bad_addr_writes=%0d stalls_1000=%0d withdrawn=%0d"},
             beats, accepted, cycles, resets, writes, hs_in_reset, bad_writes, stalls,
             withdrawn);
    $finish;
  end
endmodule
