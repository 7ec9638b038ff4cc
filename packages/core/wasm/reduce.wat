;; float32 sums with 128-bit SIMD, accumulated in float64 (f64x2) like the TypeScript reference, then
;; rounded once to float32: over the trailing axes of a contiguous tensor (each row of n values to
;; one value) and over its leading axes (rows of n values summed elementwise into one row).
;;
;; Operands live in this module's linear memory, copied in by the host
;; (packages/core/wasm/wasm_reduce.ts). All addresses are byte addresses; counts are in elements.
;; Build: `deno run -A scripts/build_wasm.ts`.
(module
  (memory (export "memory") 1)

  ;; out[r] = Σ_j x[r·n + j] for r < rows, j < n.
  (func (export "rowSum") (param $x i32) (param $out i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $end i32) (local $end4 i32) (local $v v128) (local $lo v128)
    (local $hi v128) (local $s f64)
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $end4 (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
        (local.set $lo (v128.const i64x2 0 0))
        (local.set $hi (v128.const i64x2 0 0))
        (block $d4
          (loop $l4
            (br_if $d4 (i32.ge_u (local.get $x) (local.get $end4)))
            (local.set $v (v128.load (local.get $x)))
            (local.set $lo (f64x2.add (local.get $lo) (f64x2.promote_low_f32x4 (local.get $v))))
            (local.set $hi
              (f64x2.add (local.get $hi)
                (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (br $l4)))
        (local.set $lo (f64x2.add (local.get $lo) (local.get $hi)))
        (local.set $s
          (f64.add (f64x2.extract_lane 0 (local.get $lo)) (f64x2.extract_lane 1 (local.get $lo))))
        (block $d1
          (loop $l1
            (br_if $d1 (i32.ge_u (local.get $x) (local.get $end)))
            (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32.load (local.get $x)))))
            (local.set $x (i32.add (local.get $x) (i32.const 4)))
            (br $l1)))
        (f32.store (local.get $out) (f32.demote_f64 (local.get $s)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; out[j] = Σ_r x[r·n + j] for j < n, r < rows, with acc (8·n bytes, 16-byte aligned) as the
  ;; float64 accumulator row.
  (func (export "colSum") (param $x i32) (param $out i32) (param $rows i32) (param $n i32)
    (param $acc i32)
    (local $r i32) (local $j i32) (local $n4 i32) (local $v v128) (local $p i32) (local $a i32)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (memory.fill (local.get $acc) (i32.const 0) (i32.shl (local.get $n) (i32.const 3)))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $a (local.get $acc))
        (local.set $j (i32.const 0))
        (block $d4
          (loop $l4
            (br_if $d4 (i32.ge_u (local.get $j) (local.get $n4)))
            (local.set $v (v128.load (local.get $x)))
            (v128.store (local.get $a)
              (f64x2.add (v128.load (local.get $a)) (f64x2.promote_low_f32x4 (local.get $v))))
            (v128.store offset=16 (local.get $a)
              (f64x2.add (v128.load offset=16 (local.get $a))
                (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (local.set $a (i32.add (local.get $a) (i32.const 32)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $l4)))
        (block $d1
          (loop $l1
            (br_if $d1 (i32.ge_u (local.get $j) (local.get $n)))
            (f64.store (local.get $a)
              (f64.add (f64.load (local.get $a)) (f64.promote_f32 (f32.load (local.get $x)))))
            (local.set $x (i32.add (local.get $x) (i32.const 4)))
            (local.set $a (i32.add (local.get $a) (i32.const 8)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $l1)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row)))
    ;; round the accumulators to float32
    (local.set $j (i32.const 0))
    (block $done
      (loop $out1
        (br_if $done (i32.ge_u (local.get $j) (local.get $n)))
        (f32.store (local.get $out) (f32.demote_f64 (f64.load (local.get $acc))))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $acc (i32.add (local.get $acc) (i32.const 8)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $out1))))
)
