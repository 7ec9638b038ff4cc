;; float32 elementwise kernels with 128-bit SIMD: broadcasting binary arithmetic and `where`, a few
;; unary functions (exp, sigmoid, both GELU forms, erf, neg) and row-wise softmax / log-softmax.
;;
;; Operands live in this module's linear memory, copied in by the host
;; (packages/core/wasm/wasm_elementwise.ts). All addresses are byte addresses; strides and counts
;; are in elements.
;;
;; exp(x): x = n·ln2 + r with n = round(x·log2 e) (by the 1.5·2^23 shifter) and |r| <= ln2/2 (ln2 split in a 9-bit head and a
;; tail so n·head is exact), e^r by its Taylor series to r^7 (truncation below 1e-8 relative), and
;; 2^n applied as two factors 2^(n>>1)·2^(n-(n>>1)) so that overflow to infinity and gradual
;; underflow to subnormals and zero round as they should. x is first clamped to [-110, 89], where
;; the result is already 0 or infinity; NaN passes through.
;;
;; erfc(z), z >= 0: t·exp(-z² + P(t)) with t = 1/(1 + z/2) and P a degree-10 polynomial fitted by
;; least squares to log(erfc(z)/t) + z² on [0, 10] (fit error 2.4e-8; scripts/fit_erfc.py).
;; For z = w/√2, z² = w²/2 is split as (wh² + wl·(w + wh))/2 with wh = w rounded to 12
;; significant bits, so the large exponent keeps float32 accuracy: about 6e-7 relative error. GELU uses
;; 1 + erf(z) = erfc(-z), which stays accurate where it is small (x very negative).
;;
;; Build: `deno run -A scripts/build_wasm.ts`.
(module
  (memory (export "memory") 1)

  ;; e^x on four lanes.
  (func $exp (param $x v128) (result v128)
    (local $n v128) (local $r v128) (local $p v128) (local $ni v128) (local $nh v128)
    ;; pmin/pmax (one instruction each) keep NaN: a comparison with NaN is false, so x stays
    (local.set $x
      (f32x4.pmax (f32x4.pmin (local.get $x) (v128.const f32x4 89 89 89 89)) (v128.const f32x4 -110 -110 -110 -110)))
    ;; n = round(x·log2 e): adding 1.5·2^23 leaves the rounded integer in the low mantissa bits
    (local.set $ni
      (f32x4.add
        (f32x4.mul (local.get $x) (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))
        (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $n (f32x4.sub (local.get $ni) (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $r
      (f32x4.sub
        (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
        (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440054690583e-4 -2.12194440054690583e-4 -2.12194440054690583e-4 -2.12194440054690583e-4))))
    ;; Horner: 1 + r(1 + r(1/2 + r(1/6 + r(1/24 + r(1/120 + r(1/720 + r/5040))))))
    (local.set $p (v128.const f32x4 1.98412698412698413e-4 1.98412698412698413e-4 1.98412698412698413e-4 1.98412698412698413e-4))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1.38888888888888889e-3 1.38888888888888889e-3 1.38888888888888889e-3 1.38888888888888889e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 8.33333333333333333e-3 8.33333333333333333e-3 8.33333333333333333e-3 8.33333333333333333e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 4.16666666666666667e-2 4.16666666666666667e-2 4.16666666666666667e-2 4.16666666666666667e-2)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 0.166666666666666667 0.166666666666666667 0.166666666666666667 0.166666666666666667)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1 1 1 1)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1 1 1 1)))
    (local.set $ni (i32x4.sub (local.get $ni) (v128.const i32x4 0x4b400000 0x4b400000 0x4b400000 0x4b400000)))
    (local.set $nh (i32x4.shr_s (local.get $ni) (i32.const 1)))
    (f32x4.mul
      (f32x4.mul
        (local.get $p)
        (i32x4.shl (i32x4.add (local.get $nh) (v128.const i32x4 127 127 127 127)) (i32.const 23)))
      (i32x4.shl
        (i32x4.add (i32x4.sub (local.get $ni) (local.get $nh)) (v128.const i32x4 127 127 127 127))
        (i32.const 23))))

  ;; erfc(z) for z = w/√2, w >= 0, on four lanes (NaN passes through); exactly 0 from z = 10 on,
  ;; where float32 underflows (so GELU(-∞) is NaN and GELU(x) is -0 below about -14, as x/2·(1 + erf)).
  ;; The exponent -z² is taken as -w²/2 from w split in 12 high bits and the rest, so it keeps
  ;; float32 accuracy when large, and carries no rounding of z.
  (func $erfc (param $w v128) (result v128)
    (local $z v128) (local $t v128) (local $p v128) (local $wh v128) (local $big v128)
    (local.set $z (f32x4.mul (local.get $w) (v128.const f32x4 0.70710678118654752 0.70710678118654752 0.70710678118654752 0.70710678118654752)))
    (local.set $big (f32x4.ge (local.get $z) (v128.const f32x4 10 10 10 10)))
    (local.set $w (f32x4.pmin (local.get $w) (v128.const f32x4 15 15 15 15)))
    (local.set $z (f32x4.pmin (local.get $z) (v128.const f32x4 10 10 10 10)))
    (local.set $t
      (f32x4.div (v128.const f32x4 1 1 1 1)
        (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $z) (v128.const f32x4 0.5 0.5 0.5 0.5)))))
    (local.set $p (v128.const f32x4 -0.13220389169356836 -0.13220389169356836 -0.13220389169356836 -0.13220389169356836))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0.9185590753051041 0.9185590753051041 0.9185590753051041 0.9185590753051041)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 -2.6603843970501493 -2.6603843970501493 -2.6603843970501493 -2.6603843970501493)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 4.065858531202891 4.065858531202891 4.065858531202891 4.065858531202891)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 -3.407748510197824 -3.407748510197824 -3.407748510197824 -3.407748510197824)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 1.5896371310678161 1.5896371310678161 1.5896371310678161 1.5896371310678161)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 -0.6848514480431285 -0.6848514480431285 -0.6848514480431285 -0.6848514480431285)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0.21976438829449724 0.21976438829449724 0.21976438829449724 0.21976438829449724)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0.3553123364032838 0.3553123364032838 0.3553123364032838 0.3553123364032838)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 1.0016274868466295 1.0016274868466295 1.0016274868466295 1.0016274868466295)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 -1.2655706780609453 -1.2655706780609453 -1.2655706780609453 -1.2655706780609453)))
    ;; Below w = 2 the exponent's own rounding costs at most 1.2e-7 relative: one exp does.
    (if (i32.eqz (v128.any_true (f32x4.ge (local.get $w) (v128.const f32x4 2 2 2 2))))
      (then
        (return
          (f32x4.mul
            (local.get $t)
            (call $exp
              (f32x4.sub
                (local.get $p)
                (f32x4.mul (f32x4.mul (local.get $w) (local.get $w)) (v128.const f32x4 0.5 0.5 0.5 0.5))))))))
    (local.set $wh (v128.and (local.get $w) (v128.const i32x4 0xfffff000 0xfffff000 0xfffff000 0xfffff000)))
    (v128.andnot
      (f32x4.mul
        (local.get $t)
        (f32x4.mul
          (call $exp
            (f32x4.mul (f32x4.mul (local.get $wh) (local.get $wh)) (v128.const f32x4 -0.5 -0.5 -0.5 -0.5)))
          (call $exp
            (f32x4.sub
              (local.get $p)
              (f32x4.mul
                (f32x4.mul
                  (f32x4.sub (local.get $w) (local.get $wh))
                  (f32x4.add (local.get $w) (local.get $wh)))
                (v128.const f32x4 0.5 0.5 0.5 0.5))))))
      (local.get $big)))

  ;; erf(x) on four lanes: the Maclaurin series to x^13 below |x| = 1/2 (truncation under 1e-9
  ;; relative), else sign(x)·(1 - erfc(|x|)).
  (func $erf (param $x v128) (result v128)
    (local $x2 v128) (local $p v128) (local $e v128)
    (local.set $x2 (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $p (v128.const f32x4 0.00012055332981789664 0.00012055332981789664 0.00012055332981789664 0.00012055332981789664))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x2)) (v128.const f32x4 -0.0008548327023450852 -0.0008548327023450852 -0.0008548327023450852 -0.0008548327023450852)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x2)) (v128.const f32x4 0.005223977625442188 0.005223977625442188 0.005223977625442188 0.005223977625442188)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x2)) (v128.const f32x4 -0.026866170645131252 -0.026866170645131252 -0.026866170645131252 -0.026866170645131252)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x2)) (v128.const f32x4 0.11283791670955126 0.11283791670955126 0.11283791670955126 0.11283791670955126)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x2)) (v128.const f32x4 -0.37612638903183754 -0.37612638903183754 -0.37612638903183754 -0.37612638903183754)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x2)) (v128.const f32x4 1.1283791670955126 1.1283791670955126 1.1283791670955126 1.1283791670955126)))
    (local.set $e
      (call $erfc (f32x4.mul (f32x4.abs (local.get $x)) (v128.const f32x4 1.41421356237309505 1.41421356237309505 1.41421356237309505 1.41421356237309505))))
    (v128.bitselect
      (f32x4.mul (local.get $p) (local.get $x))
      (v128.or
        (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))
        (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $e)))
      (f32x4.lt (f32x4.abs (local.get $x)) (v128.const f32x4 0.5 0.5 0.5 0.5))))

  ;; One unary function on four lanes: 0 exp, 1 sigmoid, 2 GELU (erf), 3 GELU (tanh), 4 erf, 5 neg.
  (func $unary1 (param $op i32) (param $x v128) (result v128)
    (local $z v128) (local $e v128)
    (block $neg
    (block $erf
    (block $gelutanh
      (block $gelu
        (block $sigmoid
          (block $exp
            (br_table $exp $sigmoid $gelu $gelutanh $erf $neg (local.get $op)))
          (return (call $exp (local.get $x))))
        ;; 1 / (1 + e^-x)
        (return
          (f32x4.div (v128.const f32x4 1 1 1 1)
            (f32x4.add (v128.const f32x4 1 1 1 1) (call $exp (f32x4.neg (local.get $x)))))))
      ;; x/2 · erfc(-x/√2), with erfc(-z) = 2 - erfc(z) for z > 0
      (local.set $z (local.get $x))
      (local.set $e (call $erfc (f32x4.abs (local.get $x))))
      (return
        (f32x4.mul
          (f32x4.mul (local.get $x) (v128.const f32x4 0.5 0.5 0.5 0.5))
          (v128.bitselect
            (f32x4.sub (v128.const f32x4 2 2 2 2) (local.get $e))
            (local.get $e)
            (f32x4.gt (local.get $z) (v128.const f32x4 0 0 0 0))))))
    ;; x/2 · (1 + tanh(u)) = x / (1 + e^(-2u)), u = √(2/π)·(x + 0.044715·x³)
    (return (f32x4.div
      (local.get $x)
      (f32x4.add
        (v128.const f32x4 1 1 1 1)
        (call $exp
          (f32x4.mul
            (f32x4.add
              (local.get $x)
              (f32x4.mul
                (f32x4.mul (f32x4.mul (local.get $x) (local.get $x)) (local.get $x))
                (v128.const f32x4 0.044715 0.044715 0.044715 0.044715)))
            (v128.const f32x4 -1.5957691216057308 -1.5957691216057308 -1.5957691216057308 -1.5957691216057308)))))))
    (return (call $erf (local.get $x))))
    (f32x4.neg (local.get $x)))

  ;; out[i] = f(x[i]) for i < n.
  (func (export "unary") (param $op i32) (param $x i32) (param $out i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $x) (local.get $end)))
        (v128.store (local.get $out) (call $unary1 (local.get $op) (v128.load (local.get $x))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $four)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (v128.store32_lane 0 (local.get $out)
          (call $unary1 (local.get $op) (v128.load32_splat (local.get $x))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $one))))

  ;; One binary operation on four lanes: 0 add, 1 sub, 2 mul, 3 div.
  (func $binary1 (param $op i32) (param $a v128) (param $b v128) (result v128)
    (block $div
      (block $mul
        (block $sub
          (block $add
            (br_table $add $sub $mul $div (local.get $op)))
          (return (f32x4.add (local.get $a) (local.get $b))))
        (return (f32x4.sub (local.get $a) (local.get $b))))
      (return (f32x4.mul (local.get $a) (local.get $b))))
    (f32x4.div (local.get $a) (local.get $b)))

  ;; out[r, j] = a[r·ars + j·acs] op b[r·brs + j·bcs] for r < rows, j < cols, with the column
  ;; strides acs and bcs each 0 (broadcast) or 1 (contiguous); out is contiguous.
  (func (export "binary") (param $op i32) (param $a i32) (param $b i32) (param $out i32)
    (param $rows i32) (param $cols i32) (param $ars i32) (param $acs i32) (param $brs i32)
    (param $bcs i32)
    (local $r i32) (local $j i32) (local $pa i32) (local $pb i32) (local $va v128) (local $vb v128)
    (local $cols4 i32) (local $sa i32) (local $sb i32)
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    ;; byte steps per column
    (local.set $sa (i32.shl (local.get $acs) (i32.const 2)))
    (local.set $sb (i32.shl (local.get $bcs) (i32.const 2)))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $pa (i32.add (local.get $a) (i32.shl (i32.mul (local.get $r) (local.get $ars)) (i32.const 2))))
        (local.set $pb (i32.add (local.get $b) (i32.shl (i32.mul (local.get $r) (local.get $brs)) (i32.const 2))))
        ;; a broadcast operand is one value for the whole row
        (if (i32.eqz (local.get $acs)) (then (local.set $va (v128.load32_splat (local.get $pa)))))
        (if (i32.eqz (local.get $bcs)) (then (local.set $vb (v128.load32_splat (local.get $pb)))))
        (local.set $j (i32.const 0))
        (block $colsDone
          (loop $col
            (br_if $colsDone (i32.ge_u (local.get $j) (local.get $cols4)))
            (if (local.get $acs) (then (local.set $va (v128.load (local.get $pa)))))
            (if (local.get $bcs) (then (local.set $vb (v128.load (local.get $pb)))))
            (v128.store (local.get $out) (call $binary1 (local.get $op) (local.get $va) (local.get $vb)))
            (local.set $pa (i32.add (local.get $pa) (i32.shl (local.get $sa) (i32.const 2))))
            (local.set $pb (i32.add (local.get $pb) (i32.shl (local.get $sb) (i32.const 2))))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $col)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $cols)))
            (if (local.get $acs) (then (local.set $va (v128.load32_splat (local.get $pa)))))
            (if (local.get $bcs) (then (local.set $vb (v128.load32_splat (local.get $pb)))))
            (v128.store32_lane 0 (local.get $out)
              (call $binary1 (local.get $op) (local.get $va) (local.get $vb)))
            (local.set $pa (i32.add (local.get $pa) (local.get $sa)))
            (local.set $pb (i32.add (local.get $pb) (local.get $sb)))
            (local.set $out (i32.add (local.get $out) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; out[r, j] = c[r·crs + j·ccs] ? a[r·ars + j·acs] : b[r·brs + j·bcs] for r < rows, j < cols:
  ;; c holds bytes (bool), a, b and out 32-bit lanes (float32 or int32: the choice is bitwise);
  ;; every column stride is 0 (broadcast) or 1, and out is contiguous.
  (func (export "select") (param $c i32) (param $a i32) (param $b i32) (param $out i32)
    (param $rows i32) (param $cols i32) (param $crs i32) (param $ccs i32) (param $ars i32)
    (param $acs i32) (param $brs i32) (param $bcs i32)
    (local $r i32) (local $j i32) (local $pc i32) (local $pa i32) (local $pb i32) (local $cols4 i32)
    (local $m v128) (local $va v128) (local $vb v128)
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $pc (i32.add (local.get $c) (i32.mul (local.get $r) (local.get $crs))))
        (local.set $pa (i32.add (local.get $a) (i32.shl (i32.mul (local.get $r) (local.get $ars)) (i32.const 2))))
        (local.set $pb (i32.add (local.get $b) (i32.shl (i32.mul (local.get $r) (local.get $brs)) (i32.const 2))))
        (if (i32.eqz (local.get $ccs))
          (then (local.set $m (i32x4.ne (i32x4.splat (i32.load8_u (local.get $pc))) (v128.const i32x4 0 0 0 0)))))
        (if (i32.eqz (local.get $acs)) (then (local.set $va (v128.load32_splat (local.get $pa)))))
        (if (i32.eqz (local.get $bcs)) (then (local.set $vb (v128.load32_splat (local.get $pb)))))
        (local.set $j (i32.const 0))
        (block $colsDone
          (loop $col
            (br_if $colsDone (i32.ge_u (local.get $j) (local.get $cols4)))
            (if (local.get $ccs)
              (then
                (local.set $m
                  (i32x4.ne
                    (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $pc))))
                    (v128.const i32x4 0 0 0 0)))
                (local.set $pc (i32.add (local.get $pc) (i32.const 4)))))
            (if (local.get $acs)
              (then
                (local.set $va (v128.load (local.get $pa)))
                (local.set $pa (i32.add (local.get $pa) (i32.const 16)))))
            (if (local.get $bcs)
              (then
                (local.set $vb (v128.load (local.get $pb)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 16)))))
            (v128.store (local.get $out) (v128.bitselect (local.get $va) (local.get $vb) (local.get $m)))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $col)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $cols)))
            (i32.store (local.get $out)
              (select
                (i32.load (local.get $pa))
                (i32.load (local.get $pb))
                (i32.load8_u (local.get $pc))))
            (local.set $pc (i32.add (local.get $pc) (local.get $ccs)))
            (local.set $pa (i32.add (local.get $pa) (i32.shl (local.get $acs) (i32.const 2))))
            (local.set $pb (i32.add (local.get $pb) (i32.shl (local.get $bcs) (i32.const 2))))
            (local.set $out (i32.add (local.get $out) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; Softmax (log = 0) or log-softmax (log = 1) of each contiguous row of n values:
  ;; out[r] = exp(x[r] - max) / Σ exp(x[r] - max), or x[r] - max - log Σ exp(x[r] - max).
  ;; The maximum starts at -FLT_MAX, so a row of -FLT_MAX (a fully masked attention row) is uniform.
  ;; out may equal x. Returns nothing; log needs the host's log of each row sum, so for log = 1
  ;; the kernel leaves x - max in out and the row sums at `sums` (rows floats).
  (func (export "softmax") (param $x i32) (param $out i32) (param $rows i32) (param $n i32)
    (param $log i32) (param $sums i32)
    (local $r i32) (local $p i32) (local $q i32) (local $end i32) (local $end4 i32)
    (local $mx v128) (local $m v128) (local $sum v128) (local $v v128) (local $s f32) (local $den v128)
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $end4 (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
        ;; maximum
        (local.set $mx (v128.const f32x4 -0x1.fffffep+127 -0x1.fffffep+127 -0x1.fffffep+127 -0x1.fffffep+127))
        (local.set $p (local.get $x))
        (block $d1 (loop $l1
          (br_if $d1 (i32.ge_u (local.get $p) (local.get $end4)))
          (local.set $mx (f32x4.max (local.get $mx) (v128.load (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br $l1)))
        (block $d2 (loop $l2
          (br_if $d2 (i32.ge_u (local.get $p) (local.get $end)))
          (local.set $mx (f32x4.max (local.get $mx) (v128.load32_splat (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (br $l2)))
        (local.set $mx (f32x4.max (local.get $mx) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $mx) (local.get $mx))))
        (local.set $mx (f32x4.max (local.get $mx) (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $mx) (local.get $mx))))
        ;; exponentials (softmax) or shifted values (log-softmax) into out, and their sum
        (local.set $sum (v128.const i32x4 0 0 0 0))
        (local.set $p (local.get $x))
        (local.set $q (local.get $out))
        (block $d3 (loop $l3
          (br_if $d3 (i32.ge_u (local.get $p) (local.get $end4)))
          (local.set $v (f32x4.sub (v128.load (local.get $p)) (local.get $mx)))
          (local.set $m (call $exp (local.get $v)))
          (local.set $sum (f32x4.add (local.get $sum) (local.get $m)))
          (v128.store (local.get $q) (select (result v128) (local.get $v) (local.get $m) (local.get $log)))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 16)))
          (br $l3)))
        (local.set $s
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $sum)) (f32x4.extract_lane 1 (local.get $sum)))
            (f32.add (f32x4.extract_lane 2 (local.get $sum)) (f32x4.extract_lane 3 (local.get $sum)))))
        (block $d4 (loop $l4
          (br_if $d4 (i32.ge_u (local.get $p) (local.get $end)))
          (local.set $v (f32x4.sub (v128.load32_splat (local.get $p)) (local.get $mx)))
          (local.set $m (call $exp (local.get $v)))
          (local.set $s (f32.add (local.get $s) (f32x4.extract_lane 0 (local.get $m))))
          (v128.store32_lane 0 (local.get $q) (select (result v128) (local.get $v) (local.get $m) (local.get $log)))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (local.set $q (i32.add (local.get $q) (i32.const 4)))
          (br $l4)))
        (if (local.get $log)
          (then
            (f32.store (local.get $sums) (local.get $s))
            (local.set $sums (i32.add (local.get $sums) (i32.const 4))))
          (else
            ;; divide the row by its sum
            (local.set $den (f32x4.splat (local.get $s)))
            (local.set $q (local.get $out))
            (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
            (local.set $end4 (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
            (block $d5 (loop $l5
              (br_if $d5 (i32.ge_u (local.get $q) (local.get $end4)))
              (v128.store (local.get $q) (f32x4.div (v128.load (local.get $q)) (local.get $den)))
              (local.set $q (i32.add (local.get $q) (i32.const 16)))
              (br $l5)))
            (block $d6 (loop $l6
              (br_if $d6 (i32.ge_u (local.get $q) (local.get $end)))
              (f32.store (local.get $q) (f32.div (f32.load (local.get $q)) (local.get $s)))
              (local.set $q (i32.add (local.get $q) (i32.const 4)))
              (br $l6)))))
        (local.set $x (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $out (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))
)
