;; Row-wise layer normalisation and RMS normalisation of contiguous float32 rows on 128-bit SIMD.
;;
;; Operands live in this module's linear memory, copied in by the host
;; (packages/core/wasm/wasm_norm.ts). All addresses are byte addresses; counts are in elements.
;;
;; Accuracy: the row statistics are accumulated in float64 lanes (each f32x4 load is widened to
;; two f64x2 halves), in two passes for layer normalisation (the mean, then the sum of squared
;; deviations from it), so a row of thousands of values with a large mean keeps its variance.
;; The centring itself is done in float32 against the mean split into a float32 head and tail,
;; (x - head) - tail: x - head is exact wherever x is within a factor of two of the mean, so the
;; centred value carries only its own rounding. Everything after the statistics is float32.
;;
;; Build: `deno run -A scripts/build_wasm.ts`.
(module
  (memory (export "memory") 1)

  ;; Σ (x[j] - c)² over the n floats at p (c = 0 gives the plain sum of squares), in float64.
  (func $sumsq (param $p i32) (param $n i32) (param $c f64) (result f64)
    (local $end i32) (local $end4 i32) (local $v v128) (local $a v128) (local $b v128)
    (local $acc0 v128) (local $acc1 v128) (local $cc v128) (local $s f64) (local $t f64)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $cc (f64x2.splat (local.get $c)))
    (block $d1 (loop $l1
      (br_if $d1 (i32.ge_u (local.get $p) (local.get $end4)))
      (local.set $v (v128.load (local.get $p)))
      (local.set $a (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $cc)))
      (local.set $b
        (f64x2.sub
          (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
          (local.get $cc)))
      (local.set $acc0 (f64x2.add (local.get $acc0) (f64x2.mul (local.get $a) (local.get $a))))
      (local.set $acc1 (f64x2.add (local.get $acc1) (f64x2.mul (local.get $b) (local.get $b))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $l1)))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $t (f64.sub (f64.promote_f32 (f32.load (local.get $p))) (local.get $c)))
      (local.set $s (f64.add (local.get $s) (f64.mul (local.get $t) (local.get $t))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br $l2)))
    (local.set $acc0 (f64x2.add (local.get $acc0) (local.get $acc1)))
    (f64.add
      (local.get $s)
      (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0)))))

  ;; Σ x[j] over the n floats at p, in float64.
  (func $sum (param $p i32) (param $n i32) (result f64)
    (local $end i32) (local $end4 i32) (local $v v128) (local $acc0 v128) (local $acc1 v128)
    (local $s f64)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $d1 (loop $l1
      (br_if $d1 (i32.ge_u (local.get $p) (local.get $end4)))
      (local.set $v (v128.load (local.get $p)))
      (local.set $acc0 (f64x2.add (local.get $acc0) (f64x2.promote_low_f32x4 (local.get $v))))
      (local.set $acc1
        (f64x2.add
          (local.get $acc1)
          (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $l1)))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32.load (local.get $p)))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br $l2)))
    (local.set $acc0 (f64x2.add (local.get $acc0) (local.get $acc1)))
    (f64.add
      (local.get $s)
      (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0)))))

  ;; Layer normalisation of each of `rows` rows of n floats at x, written to out (out may equal x):
  ;; out[j] = ((x[j] - mean) · rsqrt(var + eps)) · w[j] + b[j], with the biased variance. w and b
  ;; are n floats each (the host passes ones and zeros for a missing weight or bias).
  (func (export "layerNorm") (param $x i32) (param $out i32) (param $rows i32) (param $n i32)
    (param $w i32) (param $b i32) (param $eps f64)
    (local $r i32) (local $j i32) (local $n4 i32) (local $o i32) (local $mean f64) (local $rstd f32)
    (local $mh f32) (local $ml f32) (local $vmh v128) (local $vml v128) (local $vr v128)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $mean
          (f64.div (call $sum (local.get $x) (local.get $n)) (f64.convert_i32_u (local.get $n))))
        (local.set $rstd
          (f32.demote_f64
            (f64.div
              (f64.const 1)
              (f64.sqrt
                (f64.add
                  (f64.div
                    (call $sumsq (local.get $x) (local.get $n) (local.get $mean))
                    (f64.convert_i32_u (local.get $n)))
                  (local.get $eps))))))
        (local.set $mh (f32.demote_f64 (local.get $mean)))
        (local.set $ml (f32.demote_f64 (f64.sub (local.get $mean) (f64.promote_f32 (local.get $mh)))))
        (local.set $vmh (f32x4.splat (local.get $mh)))
        (local.set $vml (f32x4.splat (local.get $ml)))
        (local.set $vr (f32x4.splat (local.get $rstd)))
        (local.set $j (i32.const 0))
        (block $d1 (loop $l1
          (br_if $d1 (i32.ge_u (local.get $j) (local.get $n4)))
          (local.set $o (i32.shl (local.get $j) (i32.const 2)))
          (v128.store (i32.add (local.get $out) (local.get $o))
            (f32x4.add
              (f32x4.mul
                (f32x4.mul
                  (f32x4.sub
                    (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $o))) (local.get $vmh))
                    (local.get $vml))
                  (local.get $vr))
                (v128.load (i32.add (local.get $w) (local.get $o))))
              (v128.load (i32.add (local.get $b) (local.get $o)))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $l1)))
        (block $d2 (loop $l2
          (br_if $d2 (i32.ge_u (local.get $j) (local.get $n)))
          (local.set $o (i32.shl (local.get $j) (i32.const 2)))
          (f32.store (i32.add (local.get $out) (local.get $o))
            (f32.add
              (f32.mul
                (f32.mul
                  (f32.sub
                    (f32.sub (f32.load (i32.add (local.get $x) (local.get $o))) (local.get $mh))
                    (local.get $ml))
                  (local.get $rstd))
                (f32.load (i32.add (local.get $w) (local.get $o))))
              (f32.load (i32.add (local.get $b) (local.get $o)))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $l2)))
        (local.set $x (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $out (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; RMS normalisation as Llama defines it, for each of `rows` rows of n floats at x, written to
  ;; out (out may equal x): out[j] = w[j] · (x[j] · rsqrt(mean(x²) + eps)), the inner product
  ;; rounded to float32 before the weight multiplies it. w is n floats (ones for no weight).
  (func (export "rmsNorm") (param $x i32) (param $out i32) (param $rows i32) (param $n i32)
    (param $w i32) (param $eps f64)
    (local $r i32) (local $j i32) (local $n4 i32) (local $o i32) (local $rstd f32) (local $vr v128)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $rstd
          (f32.demote_f64
            (f64.div
              (f64.const 1)
              (f64.sqrt
                (f64.add
                  (f64.div
                    (call $sumsq (local.get $x) (local.get $n) (f64.const 0))
                    (f64.convert_i32_u (local.get $n)))
                  (local.get $eps))))))
        (local.set $vr (f32x4.splat (local.get $rstd)))
        (local.set $j (i32.const 0))
        (block $d1 (loop $l1
          (br_if $d1 (i32.ge_u (local.get $j) (local.get $n4)))
          (local.set $o (i32.shl (local.get $j) (i32.const 2)))
          (v128.store (i32.add (local.get $out) (local.get $o))
            (f32x4.mul
              (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $o))) (local.get $vr))
              (v128.load (i32.add (local.get $w) (local.get $o)))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $l1)))
        (block $d2 (loop $l2
          (br_if $d2 (i32.ge_u (local.get $j) (local.get $n)))
          (local.set $o (i32.shl (local.get $j) (i32.const 2)))
          (f32.store (i32.add (local.get $out) (local.get $o))
            (f32.mul
              (f32.mul (f32.load (i32.add (local.get $x) (local.get $o))) (local.get $rstd))
              (f32.load (i32.add (local.get $w) (local.get $o)))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $l2)))
        (local.set $x (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $out (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row)))))
