;; The float32 GEMM of gemm.wat on an imported shared memory, for the thread pool of
;; packages/core/wasm/thread_pool.ts: every worker instantiates this module with the same
;; `WebAssembly.Memory({ shared: true })`, so packed operands written by the calling thread are
;; read by all of them and each writes its own tiles of C. Everything below the memory import is
;; gemm.wat verbatim (packages/core/wasm/thread_pool_test.ts checks that); change both together.
;; Build: `deno run -A scripts/build_wasm.ts`.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; One 4x8 tile: C[4,8] = (acc ? C : 0) + A panel[kc][4] . B panel[kc][8].
  ;; $a, $b, $c are byte addresses; $ldc is C's row stride in bytes.
  (func $micro (param $a i32) (param $b i32) (param $c i32) (param $kc i32) (param $ldc i32)
    (param $acc i32)
    (local $n i32) (local $x v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    ;; k unrolled by 4
    (if (local.tee $n (i32.shr_u (local.get $kc) (i32.const 2)))
      (then
        (loop $k4
          ;; k + 0
          (local.set $b0 (v128.load offset=0 (local.get $b)))
          (local.set $b1 (v128.load offset=16 (local.get $b)))
          (local.set $x (v128.load32_splat offset=0 (local.get $a)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=4 (local.get $a)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=8 (local.get $a)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=12 (local.get $a)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
          ;; k + 1
          (local.set $b0 (v128.load offset=32 (local.get $b)))
          (local.set $b1 (v128.load offset=48 (local.get $b)))
          (local.set $x (v128.load32_splat offset=16 (local.get $a)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=20 (local.get $a)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=24 (local.get $a)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=28 (local.get $a)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
          ;; k + 2
          (local.set $b0 (v128.load offset=64 (local.get $b)))
          (local.set $b1 (v128.load offset=80 (local.get $b)))
          (local.set $x (v128.load32_splat offset=32 (local.get $a)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=36 (local.get $a)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=40 (local.get $a)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=44 (local.get $a)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
          ;; k + 3
          (local.set $b0 (v128.load offset=96 (local.get $b)))
          (local.set $b1 (v128.load offset=112 (local.get $b)))
          (local.set $x (v128.load32_splat offset=48 (local.get $a)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=52 (local.get $a)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=56 (local.get $a)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=60 (local.get $a)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $a (i32.add (local.get $a) (i32.const 64)))
          (local.set $b (i32.add (local.get $b) (i32.const 128)))
          (br_if $k4 (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
    ;; the last kc % 4 steps
    (if (local.tee $n (i32.and (local.get $kc) (i32.const 3)))
      (then
        (loop $k1
          (local.set $b0 (v128.load offset=0 (local.get $b)))
          (local.set $b1 (v128.load offset=16 (local.get $b)))
          (local.set $x (v128.load32_splat offset=0 (local.get $a)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=4 (local.get $a)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=8 (local.get $a)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=12 (local.get $a)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $b (i32.add (local.get $b) (i32.const 32)))
          (br_if $k1 (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
    (if (local.get $acc)
      (then
        (local.set $c00 (f32x4.add (v128.load (local.get $c)) (local.get $c00)))
        (local.set $c01 (f32x4.add (v128.load offset=16 (local.get $c)) (local.get $c01)))))
    (v128.store (local.get $c) (local.get $c00))
    (v128.store offset=16 (local.get $c) (local.get $c01))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (if (local.get $acc)
      (then
        (local.set $c10 (f32x4.add (v128.load (local.get $c)) (local.get $c10)))
        (local.set $c11 (f32x4.add (v128.load offset=16 (local.get $c)) (local.get $c11)))))
    (v128.store (local.get $c) (local.get $c10))
    (v128.store offset=16 (local.get $c) (local.get $c11))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (if (local.get $acc)
      (then
        (local.set $c20 (f32x4.add (v128.load (local.get $c)) (local.get $c20)))
        (local.set $c21 (f32x4.add (v128.load offset=16 (local.get $c)) (local.get $c21)))))
    (v128.store (local.get $c) (local.get $c20))
    (v128.store offset=16 (local.get $c) (local.get $c21))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (if (local.get $acc)
      (then
        (local.set $c30 (f32x4.add (v128.load (local.get $c)) (local.get $c30)))
        (local.set $c31 (f32x4.add (v128.load offset=16 (local.get $c)) (local.get $c31)))))
    (v128.store (local.get $c) (local.get $c30))
    (v128.store offset=16 (local.get $c) (local.get $c31)))

  ;; C (+)= A . B over whole packed operands. $a, $b, $c are byte addresses; $m (a multiple of 4),
  ;; $n (a multiple of 8), $k (> 0) and $ldc (C's row stride) count floats; $acc != 0 adds to C.
  (func (export "gemm") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $n i32)
    (param $k i32) (param $ldc i32) (param $acc i32)
    (local $pc i32) (local $kc i32) (local $ic i32) (local $iend i32) (local $jr i32) (local $ir i32)
    (local $bp i32) (local $add i32)
    (local.set $ldc (i32.shl (local.get $ldc) (i32.const 2)))
    (loop $kblocks
      ;; kc = min(256, k - pc); later K blocks add to what the earlier ones stored
      (local.set $kc (i32.sub (local.get $k) (local.get $pc)))
      (if (i32.gt_u (local.get $kc) (i32.const 256)) (then (local.set $kc (i32.const 256))))
      (local.set $add (i32.or (local.get $acc) (local.get $pc)))
      (local.set $ic (i32.const 0))
      (loop $mblocks
        (local.set $iend (i32.add (local.get $ic) (i32.const 128)))
        (if (i32.gt_u (local.get $iend) (local.get $m)) (then (local.set $iend (local.get $m))))
        (local.set $jr (i32.const 0))
        (loop $cols
          ;; B panel jr/8 starts at float jr*k; its K block at + pc*8
          (local.set $bp (i32.add (local.get $b)
            (i32.shl (i32.add (i32.mul (local.get $jr) (local.get $k))
              (i32.shl (local.get $pc) (i32.const 3))) (i32.const 2))))
          (local.set $ir (local.get $ic))
          (loop $rows
            ;; A panel ir/4 starts at float ir*k; its K block at + pc*4
            (call $micro
              (i32.add (local.get $a)
                (i32.shl (i32.add (i32.mul (local.get $ir) (local.get $k))
                  (i32.shl (local.get $pc) (i32.const 2))) (i32.const 2)))
              (local.get $bp)
              (i32.add (local.get $c) (i32.add (i32.mul (local.get $ir) (local.get $ldc))
                (i32.shl (local.get $jr) (i32.const 2))))
              (local.get $kc) (local.get $ldc) (local.get $add))
            (br_if $rows (i32.lt_u (local.tee $ir (i32.add (local.get $ir) (i32.const 4)))
              (local.get $iend))))
          (br_if $cols (i32.lt_u (local.tee $jr (i32.add (local.get $jr) (i32.const 8)))
            (local.get $n))))
        (br_if $mblocks (i32.lt_u (local.tee $ic (local.get $iend)) (local.get $m))))
      (br_if $kblocks (i32.lt_u (local.tee $pc (i32.add (local.get $pc) (local.get $kc)))
        (local.get $k))))))
