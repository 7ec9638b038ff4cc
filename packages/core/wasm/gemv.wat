;; float32 matrix-vector products with 128-bit SIMD, reading B in place (no packing): for the
;; one- and two-row products of token-by-token decoding, where packing B would cost as much as
;; the product itself.
;;
;; Operands live in this module's linear memory, copied in by the host
;; (packages/core/wasm/wasm_gemm.ts). Addresses are byte addresses; strides and counts are floats.
;; Build: `deno run -A scripts/build_wasm.ts`.
(module
  (memory (export "memory") 1)

  ;; c[j] = Σ_k a[k]·B[k·ldb + j] for j < n (B's rows contiguous). Columns go in blocks of 256
  ;; so the block of c being accumulated stays in L1 while k walks down B.
  (func (export "gemvRows") (param $a i32) (param $b i32) (param $ldb i32) (param $c i32)
    (param $n i32) (param $k i32)
    (local $j0 i32) (local $jn i32) (local $jn4 i32) (local $kk i32) (local $s v128)
    (local $pb i32) (local $pc i32) (local $end4 i32) (local $end i32)
    (local.set $ldb (i32.shl (local.get $ldb) (i32.const 2)))
    (memory.fill (local.get $c) (i32.const 0) (i32.shl (local.get $n) (i32.const 2)))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_u (local.get $j0) (local.get $n)))
        (local.set $jn (i32.sub (local.get $n) (local.get $j0)))
        (if (i32.gt_u (local.get $jn) (i32.const 256)) (then (local.set $jn (i32.const 256))))
        (local.set $jn4 (i32.and (local.get $jn) (i32.const -4)))
        (local.set $kk (i32.const 0))
        (block $kDone
          (loop $ks
            (br_if $kDone (i32.ge_u (local.get $kk) (local.get $k)))
            (local.set $s (v128.load32_splat (i32.add (local.get $a) (i32.shl (local.get $kk) (i32.const 2)))))
            (local.set $pb
              (i32.add (local.get $b)
                (i32.add (i32.mul (local.get $kk) (local.get $ldb)) (i32.shl (local.get $j0) (i32.const 2)))))
            (local.set $pc (i32.add (local.get $c) (i32.shl (local.get $j0) (i32.const 2))))
            (local.set $end4 (i32.add (local.get $pc) (i32.shl (local.get $jn4) (i32.const 2))))
            (local.set $end (i32.add (local.get $pc) (i32.shl (local.get $jn) (i32.const 2))))
            (block $d4
              (loop $l4
                (br_if $d4 (i32.ge_u (local.get $pc) (local.get $end4)))
                (v128.store (local.get $pc)
                  (f32x4.add (v128.load (local.get $pc)) (f32x4.mul (local.get $s) (v128.load (local.get $pb)))))
                (local.set $pc (i32.add (local.get $pc) (i32.const 16)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 16)))
                (br $l4)))
            (block $d1
              (loop $l1
                (br_if $d1 (i32.ge_u (local.get $pc) (local.get $end)))
                (f32.store (local.get $pc)
                  (f32.add (f32.load (local.get $pc))
                    (f32.mul (f32x4.extract_lane 0 (local.get $s)) (f32.load (local.get $pb)))))
                (local.set $pc (i32.add (local.get $pc) (i32.const 4)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 4)))
                (br $l1)))
            (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
            (br $ks)))
        (local.set $j0 (i32.add (local.get $j0) (i32.const 256)))
        (br $blocks))))

  ;; c[j] = Σ_k a[k]·W[j·ldw + k] for j < n (B = Wᵀ: each column of B is a contiguous row of W).
  (func (export "gemvCols") (param $a i32) (param $w i32) (param $ldw i32) (param $c i32)
    (param $n i32) (param $k i32)
    (local $j i32) (local $pa i32) (local $pw i32) (local $end4 i32) (local $end i32)
    (local $s0 v128) (local $s1 v128) (local $t f32) (local $end8 i32)
    (local.set $ldw (i32.shl (local.get $ldw) (i32.const 2)))
    (block $colsDone
      (loop $cols
        (br_if $colsDone (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $pa (local.get $a))
        (local.set $pw (i32.add (local.get $w) (i32.mul (local.get $j) (local.get $ldw))))
        (local.set $end8 (i32.add (local.get $pa) (i32.shl (i32.and (local.get $k) (i32.const -8)) (i32.const 2))))
        (local.set $end4 (i32.add (local.get $pa) (i32.shl (i32.and (local.get $k) (i32.const -4)) (i32.const 2))))
        (local.set $end (i32.add (local.get $pa) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $s0 (v128.const i32x4 0 0 0 0))
        (local.set $s1 (v128.const i32x4 0 0 0 0))
        ;; two accumulators, eight floats a step
        (block $d8
          (loop $l8
            (br_if $d8 (i32.ge_u (local.get $pa) (local.get $end8)))
            (local.set $s0
              (f32x4.add (local.get $s0) (f32x4.mul (v128.load (local.get $pa)) (v128.load (local.get $pw)))))
            (local.set $s1
              (f32x4.add (local.get $s1)
                (f32x4.mul (v128.load offset=16 (local.get $pa)) (v128.load offset=16 (local.get $pw)))))
            (local.set $pa (i32.add (local.get $pa) (i32.const 32)))
            (local.set $pw (i32.add (local.get $pw) (i32.const 32)))
            (br $l8)))
        (block $d4
          (loop $l4
            (br_if $d4 (i32.ge_u (local.get $pa) (local.get $end4)))
            (local.set $s0
              (f32x4.add (local.get $s0) (f32x4.mul (v128.load (local.get $pa)) (v128.load (local.get $pw)))))
            (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
            (local.set $pw (i32.add (local.get $pw) (i32.const 16)))
            (br $l4)))
        (local.set $s0 (f32x4.add (local.get $s0) (local.get $s1)))
        (local.set $t
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $s0)) (f32x4.extract_lane 1 (local.get $s0)))
            (f32.add (f32x4.extract_lane 2 (local.get $s0)) (f32x4.extract_lane 3 (local.get $s0)))))
        (block $d1
          (loop $l1
            (br_if $d1 (i32.ge_u (local.get $pa) (local.get $end)))
            (local.set $t (f32.add (local.get $t) (f32.mul (f32.load (local.get $pa)) (f32.load (local.get $pw)))))
            (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
            (local.set $pw (i32.add (local.get $pw) (i32.const 4)))
            (br $l1)))
        (f32.store (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))) (local.get $t))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $cols))))
)
