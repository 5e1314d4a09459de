;; scNym's WebAssembly SIMD (f32x4) kernels, sharing TensorFlow.js's WASM memory: they read
;; tensors where tfjs keeps them and write into tfjs outputs.
;;
;; The sparse input layer and the inference path's hidden layers:
;;
;;   out[r, :] = bias + Σ_{k in row r} data[k] · m[indices[k], :]      (bias = 0 when $bias is 0)
;;   then max(out, 0) when $relu is not 0 (inference, where BatchNorm is folded into W and b)
;;
;; csr_matmul: rows of a CSR matrix — forward, X·W; gradient of W, rows of Xᵀ (X's CSC, built on
;; the host) times dy. dense_matmul: rows of a dense matrix with their zeros skipped — the hidden
;; layers at inference, whose inputs are ReLU outputs (about half zeros in trained networks).
;; Four stored entries are taken at a time, so each output row is loaded and stored once per
;; four rows of m, sixteen columns (a cache line of each row) per iteration (measured: ~12 GMAC/s
;; with W at 2,000 × 256, 40% more than one vector per iteration; keeping 32 output columns in
;; registers instead was slower, W's rows then being read in scattered 128-byte pieces). Every
;; pointer is a byte offset into the memory; h (the row width) must be a multiple of 4.
;;
;; adadelta, adam: an optimiser's whole update in one pass over a variable (see the functions).
;;
;; Assembled by core/scripts/build-wasm.mjs (wabt's wat2wasm) into simd-wasm.ts.
(module
  (import "env" "memory" (memory 1))
  ;; One output row at $o from stored entries [$k, $end) of $indices / $data.
  (func $row
    (param $o i32) (param $k i32) (param $end i32) (param $indices i32) (param $data i32)
    (param $m i32) (param $rowBytes i32) (param $bias i32) (param $relu i32)
    (local $j i32) (local $t i32) (local $t0 i32) (local $t1 i32) (local $t2 i32) (local $t3 i32)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $acc v128)
    ;; Start from the bias (or zeros).
    (local.set $j (i32.const 0))
    (block $initDone
      (loop $init
        (br_if $initDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (v128.store
          (i32.add (local.get $o) (local.get $j))
          (if (result v128) (local.get $bias)
            (then (v128.load (i32.add (local.get $bias) (local.get $j))))
            (else (v128.const i32x4 0 0 0 0))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $init)))
    ;; Four stored entries at a time.
    (block $quadsDone
      (loop $quads
        (br_if $quadsDone
          (i32.gt_s (i32.add (local.get $k) (i32.const 4)) (local.get $end)))
        (local.set $v0 (v128.load32_splat
          (i32.add (local.get $data) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $v1 (v128.load32_splat offset=4
          (i32.add (local.get $data) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $v2 (v128.load32_splat offset=8
          (i32.add (local.get $data) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $v3 (v128.load32_splat offset=12
          (i32.add (local.get $data) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $a0 (i32.add (local.get $m) (i32.mul (local.get $rowBytes)
          (i32.load (i32.add (local.get $indices) (i32.shl (local.get $k) (i32.const 2)))))))
        (local.set $a1 (i32.add (local.get $m) (i32.mul (local.get $rowBytes)
          (i32.load offset=4
            (i32.add (local.get $indices) (i32.shl (local.get $k) (i32.const 2)))))))
        (local.set $a2 (i32.add (local.get $m) (i32.mul (local.get $rowBytes)
          (i32.load offset=8
            (i32.add (local.get $indices) (i32.shl (local.get $k) (i32.const 2)))))))
        (local.set $a3 (i32.add (local.get $m) (i32.mul (local.get $rowBytes)
          (i32.load offset=12
            (i32.add (local.get $indices) (i32.shl (local.get $k) (i32.const 2)))))))
        (local.set $j (i32.const 0))
        ;; Sixteen columns (a cache line of each row) per iteration, four vectors at immediate
        ;; offsets, with the four products summed pairwise; then the last columns four at a
        ;; time when the row width is not a multiple of sixteen.
        (block $linesDone
          (loop $lines
            (br_if $linesDone
              (i32.gt_u (i32.add (local.get $j) (i32.const 64)) (local.get $rowBytes)))
            (local.set $t (i32.add (local.get $o) (local.get $j)))
            (local.set $t0 (i32.add (local.get $a0) (local.get $j)))
            (local.set $t1 (i32.add (local.get $a1) (local.get $j)))
            (local.set $t2 (i32.add (local.get $a2) (local.get $j)))
            (local.set $t3 (i32.add (local.get $a3) (local.get $j)))
            (v128.store offset=0 (local.get $t)
              (f32x4.add
                (f32x4.add (v128.load offset=0 (local.get $t))
                  (f32x4.mul (local.get $v0) (v128.load offset=0 (local.get $t0))))
                (f32x4.add
                  (f32x4.add
                    (f32x4.mul (local.get $v1) (v128.load offset=0 (local.get $t1)))
                    (f32x4.mul (local.get $v2) (v128.load offset=0 (local.get $t2))))
                  (f32x4.mul (local.get $v3) (v128.load offset=0 (local.get $t3))))))
            (v128.store offset=16 (local.get $t)
              (f32x4.add
                (f32x4.add (v128.load offset=16 (local.get $t))
                  (f32x4.mul (local.get $v0) (v128.load offset=16 (local.get $t0))))
                (f32x4.add
                  (f32x4.add
                    (f32x4.mul (local.get $v1) (v128.load offset=16 (local.get $t1)))
                    (f32x4.mul (local.get $v2) (v128.load offset=16 (local.get $t2))))
                  (f32x4.mul (local.get $v3) (v128.load offset=16 (local.get $t3))))))
            (v128.store offset=32 (local.get $t)
              (f32x4.add
                (f32x4.add (v128.load offset=32 (local.get $t))
                  (f32x4.mul (local.get $v0) (v128.load offset=32 (local.get $t0))))
                (f32x4.add
                  (f32x4.add
                    (f32x4.mul (local.get $v1) (v128.load offset=32 (local.get $t1)))
                    (f32x4.mul (local.get $v2) (v128.load offset=32 (local.get $t2))))
                  (f32x4.mul (local.get $v3) (v128.load offset=32 (local.get $t3))))))
            (v128.store offset=48 (local.get $t)
              (f32x4.add
                (f32x4.add (v128.load offset=48 (local.get $t))
                  (f32x4.mul (local.get $v0) (v128.load offset=48 (local.get $t0))))
                (f32x4.add
                  (f32x4.add
                    (f32x4.mul (local.get $v1) (v128.load offset=48 (local.get $t1)))
                    (f32x4.mul (local.get $v2) (v128.load offset=48 (local.get $t2))))
                  (f32x4.mul (local.get $v3) (v128.load offset=48 (local.get $t3))))))
            (local.set $j (i32.add (local.get $j) (i32.const 64)))
            (br $lines)))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (local.set $acc (v128.load (i32.add (local.get $o) (local.get $j))))
            (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $v0)
              (v128.load (i32.add (local.get $a0) (local.get $j))))))
            (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $v1)
              (v128.load (i32.add (local.get $a1) (local.get $j))))))
            (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $v2)
              (v128.load (i32.add (local.get $a2) (local.get $j))))))
            (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $v3)
              (v128.load (i32.add (local.get $a3) (local.get $j))))))
            (v128.store (i32.add (local.get $o) (local.get $j)) (local.get $acc))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $cols)))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $quads)))
    ;; The remaining one to three entries.
    (block $restDone
      (loop $rest
        (br_if $restDone (i32.ge_s (local.get $k) (local.get $end)))
        (local.set $v0 (v128.load32_splat
          (i32.add (local.get $data) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $a0 (i32.add (local.get $m) (i32.mul (local.get $rowBytes)
          (i32.load (i32.add (local.get $indices) (i32.shl (local.get $k) (i32.const 2)))))))
        (local.set $j (i32.const 0))
        (block $colDone
          (loop $col
            (br_if $colDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (v128.store (i32.add (local.get $o) (local.get $j))
              (f32x4.add (v128.load (i32.add (local.get $o) (local.get $j)))
                (f32x4.mul (local.get $v0)
                  (v128.load (i32.add (local.get $a0) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $col)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $rest)))
    ;; max(out, 0) over the row, still in cache.
    (if (local.get $relu)
      (then
        (local.set $j (i32.const 0))
        (block $reluDone
          (loop $reluCols
            (br_if $reluDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (v128.store (i32.add (local.get $o) (local.get $j))
              (f32x4.max (v128.load (i32.add (local.get $o) (local.get $j)))
                (v128.const i32x4 0 0 0 0)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $reluCols))))))
  ;; Rows of a CSR matrix.
  (func (export "csr_matmul")
    (param $nRows i32) (param $indptr i32) (param $indices i32) (param $data i32)
    (param $m i32) (param $bias i32) (param $out i32) (param $h i32) (param $relu i32)
    (local $r i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $h) (i32.const 2)))
    (local.set $r (i32.const 0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $nRows)))
        (call $row
          (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $rowBytes)))
          (i32.load (i32.add (local.get $indptr) (i32.shl (local.get $r) (i32.const 2))))
          (i32.load offset=4 (i32.add (local.get $indptr) (i32.shl (local.get $r) (i32.const 2))))
          (local.get $indices) (local.get $data) (local.get $m) (local.get $rowBytes)
          (local.get $bias) (local.get $relu))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))
  ;; Rows of a dense matrix ($nIn columns at $x), skipping its zeros: each row's non-zeros are
  ;; first gathered into $scratch ($nIn column indices, then $nIn values), branch-free.
  (func (export "dense_matmul")
    (param $nRows i32) (param $x i32) (param $nIn i32) (param $m i32) (param $bias i32)
    (param $out i32) (param $h i32) (param $relu i32) (param $scratch i32)
    (local $r i32) (local $rowBytes i32) (local $values i32) (local $c i32) (local $n i32)
    (local $src i32) (local $v f32)
    (local.set $rowBytes (i32.shl (local.get $h) (i32.const 2)))
    (local.set $values (i32.add (local.get $scratch) (i32.shl (local.get $nIn) (i32.const 2))))
    (local.set $src (local.get $x))
    (local.set $r (i32.const 0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $nRows)))
        (local.set $n (i32.const 0))
        (local.set $c (i32.const 0))
        (block $gathered
          (loop $gather
            (br_if $gathered (i32.ge_u (local.get $c) (local.get $nIn)))
            (local.set $v (f32.load (local.get $src)))
            (i32.store (i32.add (local.get $scratch) (i32.shl (local.get $n) (i32.const 2)))
              (local.get $c))
            (f32.store (i32.add (local.get $values) (i32.shl (local.get $n) (i32.const 2)))
              (local.get $v))
            (local.set $n (i32.add (local.get $n) (f32.ne (local.get $v) (f32.const 0))))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $gather)))
        (call $row
          (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $rowBytes)))
          (i32.const 0) (local.get $n) (local.get $scratch) (local.get $values)
          (local.get $m) (local.get $rowBytes) (local.get $bias) (local.get $relu))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))
  ;; Adadelta with torch's semantics over $n floats, one pass instead of ~16 tfjs ops, each
  ;; product and sum in the order optimizers.ts's tfjs ops take them (so the same floats):
  ;;   g' = g + v·wd (wd ≠ 0)     sq' = sq·ρ + g'²·(1 − ρ)     δ = √(acc + ε) / √(sq' + ε) · g'
  ;;   acc' = acc·ρ + δ²·(1 − ρ)   v' = v − δ·lr
  (func (export "adadelta")
    (param $n i32) (param $v i32) (param $g i32) (param $sq i32) (param $acc i32)
    (param $vOut i32) (param $sqOut i32) (param $accOut i32)
    (param $lr f32) (param $rho f32) (param $keep f32) (param $eps f32) (param $wd f32)
    (local $i i32) (local $bytes i32) (local $wide i32)
    (local $lrV v128) (local $rhoV v128) (local $keepV v128) (local $epsV v128) (local $wdV v128)
    (local $gV v128) (local $sqV v128) (local $dV v128)
    (local $gs f32) (local $sqs f32) (local $ds f32)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (local.set $wide (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $lrV (f32x4.splat (local.get $lr)))
    (local.set $rhoV (f32x4.splat (local.get $rho)))
    (local.set $keepV (f32x4.splat (local.get $keep)))
    (local.set $epsV (f32x4.splat (local.get $eps)))
    (local.set $wdV (f32x4.splat (local.get $wd)))
    (local.set $i (i32.const 0))
    (block $vectorsDone
      (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $i) (local.get $wide)))
        (local.set $gV (v128.load (i32.add (local.get $g) (local.get $i))))
        (if (f32.ne (local.get $wd) (f32.const 0))
          (then
            (local.set $gV (f32x4.add (local.get $gV)
              (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $wdV))))))
        (local.set $sqV (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $sq) (local.get $i))) (local.get $rhoV))
          (f32x4.mul (f32x4.mul (local.get $gV) (local.get $gV)) (local.get $keepV))))
        (v128.store (i32.add (local.get $sqOut) (local.get $i)) (local.get $sqV))
        (local.set $dV (f32x4.mul
          (f32x4.div
            (f32x4.sqrt (f32x4.add
              (v128.load (i32.add (local.get $acc) (local.get $i))) (local.get $epsV)))
            (f32x4.sqrt (f32x4.add (local.get $sqV) (local.get $epsV))))
          (local.get $gV)))
        (v128.store (i32.add (local.get $accOut) (local.get $i))
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $acc) (local.get $i))) (local.get $rhoV))
            (f32x4.mul (f32x4.mul (local.get $dV) (local.get $dV)) (local.get $keepV))))
        (v128.store (i32.add (local.get $vOut) (local.get $i))
          (f32x4.sub (v128.load (i32.add (local.get $v) (local.get $i)))
            (f32x4.mul (local.get $dV) (local.get $lrV))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vectors)))
    ;; The last n mod 4 values, the same arithmetic on scalars.
    (block $restDone
      (loop $rest
        (br_if $restDone (i32.ge_u (local.get $i) (local.get $bytes)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $i))))
        (if (f32.ne (local.get $wd) (f32.const 0))
          (then
            (local.set $gs (f32.add (local.get $gs)
              (f32.mul (f32.load (i32.add (local.get $v) (local.get $i))) (local.get $wd))))))
        (local.set $sqs (f32.add
          (f32.mul (f32.load (i32.add (local.get $sq) (local.get $i))) (local.get $rho))
          (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $keep))))
        (f32.store (i32.add (local.get $sqOut) (local.get $i)) (local.get $sqs))
        (local.set $ds (f32.mul
          (f32.div
            (f32.sqrt (f32.add (f32.load (i32.add (local.get $acc) (local.get $i))) (local.get $eps)))
            (f32.sqrt (f32.add (local.get $sqs) (local.get $eps))))
          (local.get $gs)))
        (f32.store (i32.add (local.get $accOut) (local.get $i))
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $acc) (local.get $i))) (local.get $rho))
            (f32.mul (f32.mul (local.get $ds) (local.get $ds)) (local.get $keep))))
        (f32.store (i32.add (local.get $vOut) (local.get $i))
          (f32.sub (f32.load (i32.add (local.get $v) (local.get $i)))
            (f32.mul (local.get $ds) (local.get $lr))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rest))))
  ;; Adam with torch's semantics over $n floats, likewise in the order of optimizers.ts's ops:
  ;;   g' = g + p·l2 (l2 ≠ 0)     m' = m·β₁ + g'·(1 − β₁)     v' = v·β₂ + g'²·(1 − β₂)
  ;;   p' = p − (m' / (√v' / √c₂ + ε))·step, then p' − p·shrink (shrink ≠ 0: AdamW's decay)
  (func (export "adam")
    (param $n i32) (param $p i32) (param $g i32) (param $m i32) (param $v i32)
    (param $pOut i32) (param $mOut i32) (param $vOut i32)
    (param $b1 f32) (param $keep1 f32) (param $b2 f32) (param $keep2 f32) (param $sqrtC2 f32)
    (param $eps f32) (param $step f32) (param $l2 f32) (param $shrink f32)
    (local $i i32) (local $bytes i32) (local $wide i32)
    (local $gV v128) (local $mV v128) (local $vV v128) (local $pV v128)
    (local $gs f32) (local $ms f32) (local $vs f32) (local $ps f32)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (local.set $wide (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $i (i32.const 0))
    (block $vectorsDone
      (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $i) (local.get $wide)))
        (local.set $gV (v128.load (i32.add (local.get $g) (local.get $i))))
        (if (f32.ne (local.get $l2) (f32.const 0))
          (then
            (local.set $gV (f32x4.add (local.get $gV)
              (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $i)))
                (f32x4.splat (local.get $l2)))))))
        (local.set $mV (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (f32x4.splat (local.get $b1)))
          (f32x4.mul (local.get $gV) (f32x4.splat (local.get $keep1)))))
        (local.set $vV (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (f32x4.splat (local.get $b2)))
          (f32x4.mul (f32x4.mul (local.get $gV) (local.get $gV)) (f32x4.splat (local.get $keep2)))))
        (v128.store (i32.add (local.get $mOut) (local.get $i)) (local.get $mV))
        (v128.store (i32.add (local.get $vOut) (local.get $i)) (local.get $vV))
        (local.set $pV (v128.load (i32.add (local.get $p) (local.get $i))))
        (local.set $gV (f32x4.sub (local.get $pV)
          (f32x4.mul
            (f32x4.div (local.get $mV)
              (f32x4.add
                (f32x4.div (f32x4.sqrt (local.get $vV)) (f32x4.splat (local.get $sqrtC2)))
                (f32x4.splat (local.get $eps))))
            (f32x4.splat (local.get $step)))))
        (if (f32.ne (local.get $shrink) (f32.const 0))
          (then
            (local.set $gV (f32x4.sub (local.get $gV)
              (f32x4.mul (local.get $pV) (f32x4.splat (local.get $shrink)))))))
        (v128.store (i32.add (local.get $pOut) (local.get $i)) (local.get $gV))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vectors)))
    ;; The last n mod 4 values, the same arithmetic on scalars.
    (block $restDone
      (loop $rest
        (br_if $restDone (i32.ge_u (local.get $i) (local.get $bytes)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $i))))
        (if (f32.ne (local.get $l2) (f32.const 0))
          (then
            (local.set $gs (f32.add (local.get $gs)
              (f32.mul (f32.load (i32.add (local.get $p) (local.get $i))) (local.get $l2))))))
        (local.set $ms (f32.add
          (f32.mul (f32.load (i32.add (local.get $m) (local.get $i))) (local.get $b1))
          (f32.mul (local.get $gs) (local.get $keep1))))
        (local.set $vs (f32.add
          (f32.mul (f32.load (i32.add (local.get $v) (local.get $i))) (local.get $b2))
          (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $keep2))))
        (f32.store (i32.add (local.get $mOut) (local.get $i)) (local.get $ms))
        (f32.store (i32.add (local.get $vOut) (local.get $i)) (local.get $vs))
        (local.set $ps (f32.load (i32.add (local.get $p) (local.get $i))))
        (local.set $gs (f32.sub (local.get $ps)
          (f32.mul
            (f32.div (local.get $ms)
              (f32.add (f32.div (f32.sqrt (local.get $vs)) (local.get $sqrtC2)) (local.get $eps)))
            (local.get $step))))
        (if (f32.ne (local.get $shrink) (f32.const 0))
          (then
            (local.set $gs (f32.sub (local.get $gs) (f32.mul (local.get $ps) (local.get $shrink))))))
        (f32.store (i32.add (local.get $pOut) (local.get $i)) (local.get $gs))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rest)))))
