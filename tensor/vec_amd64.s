//go:build amd64 && !purego

#include "textflag.h"

// REDUCE4PD(a, b, c, d, xa, xt) adds the sixteen float64 lanes of a, b, c, d into the low lane of
// xa (the X half of a; xt is scratch), in the order of combine16: ((a+b) + (c+d)) lane by lane,
// then (l0+l2) + (l1+l3).
#define REDUCE4PD(a, b, c, d, xa, xt) \
	VADDPD       b, a, a; \
	VADDPD       d, c, c; \
	VADDPD       c, a, a; \
	VEXTRACTF128 $1, a, xt; \
	VADDPD       xt, xa, xa; \
	VUNPCKHPD    xa, xa, xt; \
	VADDSD       xt, xa, xa


// AVX2/FMA loops behind the vector helpers of vec.go. Each processes n
// elements, n a multiple of 16 (the Go wrappers do the tail). See vec.go for
// the summation order, which the portable code follows exactly.

// func axpyAVX2(n int, alpha float32, x, y *float32)
// y[i] += alpha·x[i], the product rounded before the sum (no FMA), as in Go.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	MOVQ         n+0(FP), CX
	VBROADCASTSS alpha+8(FP), Y0
	MOVQ         x+16(FP), SI
	MOVQ         y+24(FP), DI

axpyloop:
	TESTQ   CX, CX
	JLE     axpydone
	VMULPS  (SI), Y0, Y1
	VMULPS  32(SI), Y0, Y2
	VADDPS  (DI), Y1, Y1
	VADDPS  32(DI), Y2, Y2
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     axpyloop

axpydone:
	VZEROUPPER
	RET

// func addScaledAVX2(n int, alpha float32, x, y, dst *float32)
// dst[i] = y[i] + alpha·x[i], the product rounded before the sum.
TEXT ·addScaledAVX2(SB), NOSPLIT, $0-40
	MOVQ         n+0(FP), CX
	VBROADCASTSS alpha+8(FP), Y0
	MOVQ         x+16(FP), SI
	MOVQ         y+24(FP), BX
	MOVQ         dst+32(FP), DI

addloop:
	TESTQ   CX, CX
	JLE     adddone
	VMULPS  (SI), Y0, Y1
	VMULPS  32(SI), Y0, Y2
	VADDPS  (BX), Y1, Y1
	VADDPS  32(BX), Y2, Y2
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, BX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     addloop

adddone:
	VZEROUPPER
	RET

// func dot64AVX2(n int, x, y *float32) float64
// Σ x[i]·y[i] in float64 over 16 partial sums s[i%16] held as four YMM
// accumulators (s[4j..4j+3] in Y(4+j)). The float32 products are exact in
// float64, so each fused multiply-add rounds exactly like Go's s += x·y.
TEXT ·dot64AVX2(SB), NOSPLIT, $0-32
	MOVQ   n+0(FP), CX
	MOVQ   x+8(FP), SI
	MOVQ   y+16(FP), DI
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7

dotloop:
	TESTQ       CX, CX
	JLE         dotdone
	VCVTPS2PD   (SI), Y0
	VCVTPS2PD   16(SI), Y1
	VCVTPS2PD   32(SI), Y2
	VCVTPS2PD   48(SI), Y3
	VCVTPS2PD   (DI), Y8
	VCVTPS2PD   16(DI), Y9
	VCVTPS2PD   32(DI), Y10
	VCVTPS2PD   48(DI), Y11
	VFMADD231PD Y8, Y0, Y4
	VFMADD231PD Y9, Y1, Y5
	VFMADD231PD Y10, Y2, Y6
	VFMADD231PD Y11, Y3, Y7
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         dotloop

dotdone:
	// ((s[l]+s[4+l]) + (s[8+l]+s[12+l])) per lane l, then (l0+l2) + (l1+l3).
	REDUCE4PD(Y4, Y5, Y6, Y7, X4, X5)
	VMOVSD       X4, ret+24(FP)
	VZEROUPPER
	RET

// func sumSq64AVX2(n int, x *float32) float64
// Σ x[i]² with the partial sums of dot64AVX2.
TEXT ·sumSq64AVX2(SB), NOSPLIT, $0-24
	MOVQ   n+0(FP), CX
	MOVQ   x+8(FP), SI
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7

sqloop:
	TESTQ       CX, CX
	JLE         sqdone
	VCVTPS2PD   (SI), Y0
	VCVTPS2PD   16(SI), Y1
	VCVTPS2PD   32(SI), Y2
	VCVTPS2PD   48(SI), Y3
	VFMADD231PD Y0, Y0, Y4
	VFMADD231PD Y1, Y1, Y5
	VFMADD231PD Y2, Y2, Y6
	VFMADD231PD Y3, Y3, Y7
	ADDQ        $64, SI
	SUBQ        $16, CX
	JMP         sqloop

sqdone:
	REDUCE4PD(Y4, Y5, Y6, Y7, X4, X5)
	VMOVSD       X4, ret+16(FP)
	VZEROUPPER
	RET

// func finiteAVX2(n int, x *float32) bool
// Accumulates x·0 (NaN exactly for NaN and ±Inf, ±0 otherwise); the sums are
// NaN exactly when some element is not finite.
TEXT ·finiteAVX2(SB), NOSPLIT, $0-17
	MOVQ   n+0(FP), CX
	MOVQ   x+8(FP), SI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2

finloop:
	TESTQ       CX, CX
	JLE         findone
	VFMADD231PS (SI), Y0, Y1
	VFMADD231PS 32(SI), Y0, Y2
	ADDQ        $64, SI
	SUBQ        $16, CX
	JMP         finloop

findone:
	VADDPS    Y2, Y1, Y1
	VCMPPS    $3, Y1, Y1, Y1 // unordered: NaN lanes become all ones
	VMOVMSKPS Y1, AX
	TESTL     AX, AX
	SETEQ     ret+16(FP)
	VZEROUPPER
	RET

// func adamAVX2(n int, w, gr, m, v *float32, c *AdamCoeffs)
// One Adam update per element, with the operation order and roundings of
// AdamStep's portable loop (no FMA; VSQRTPS rounds like float32(math.Sqrt)).
TEXT ·adamAVX2(SB), NOSPLIT, $0-48
	MOVQ         n+0(FP), CX
	MOVQ         w+8(FP), DI
	MOVQ         gr+16(FP), SI
	MOVQ         m+24(FP), BX
	MOVQ         v+32(FP), DX
	MOVQ         c+40(FP), AX
	VBROADCASTSS 0(AX), Y8   // B1
	VBROADCASTSS 4(AX), Y9   // 1 − B1
	VBROADCASTSS 8(AX), Y10  // B2
	VBROADCASTSS 12(AX), Y11 // 1 − B2
	VBROADCASTSS 16(AX), Y12 // √(1 − β2ᵗ)
	VBROADCASTSS 20(AX), Y13 // ε
	VBROADCASTSS 24(AX), Y14 // lr / (1 − β1ᵗ)

adamloop:
	TESTQ   CX, CX
	JLE     adamdone
	VMOVUPS (SI), Y0         // g
	VMULPS  (BX), Y8, Y1     // B1·m
	VMULPS  Y0, Y9, Y2       // (1−B1)·g
	VADDPS  Y2, Y1, Y1       // m
	VMOVUPS Y1, (BX)
	VMULPS  (DX), Y10, Y3    // B2·v
	VMULPS  Y0, Y11, Y4      // (1−B2)·g
	VMULPS  Y0, Y4, Y4       // ·g
	VADDPS  Y4, Y3, Y3       // v
	VMOVUPS Y3, (DX)
	VSQRTPS Y3, Y3
	VDIVPS  Y12, Y3, Y3      // √v / √(1−β2ᵗ)
	VADDPS  Y13, Y3, Y3      // + ε
	VMULPS  Y1, Y14, Y1      // step·m
	VDIVPS  Y3, Y1, Y1       // / den
	VMOVUPS (DI), Y5
	VSUBPS  Y1, Y5, Y5       // w − step·m/den
	VMOVUPS Y5, (DI)
	ADDQ    $32, SI
	ADDQ    $32, BX
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     adamloop

adamdone:
	VZEROUPPER
	RET

// func addScaledMulAVX2(n int, alpha float32, x, y, mask, dst *float32)
// dst[i] = y[i] + (alpha·x[i])·mask[i], each operation rounded.
TEXT ·addScaledMulAVX2(SB), NOSPLIT, $0-48
	MOVQ         n+0(FP), CX
	VBROADCASTSS alpha+8(FP), Y0
	MOVQ         x+16(FP), SI
	MOVQ         y+24(FP), BX
	MOVQ         mask+32(FP), DX
	MOVQ         dst+40(FP), DI

mulloop:
	TESTQ   CX, CX
	JLE     muldone
	VMULPS  (SI), Y0, Y1
	VMULPS  32(SI), Y0, Y2
	VMULPS  (DX), Y1, Y1
	VMULPS  32(DX), Y2, Y2
	VADDPS  (BX), Y1, Y1
	VADDPS  32(BX), Y2, Y2
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, BX
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     mulloop

muldone:
	VZEROUPPER
	RET

// func bernoulliAVX2(n int, dst *float32, state *[8]uint64, tm1 uint16, scale float32)
// Per step of 32 elements: advance the eight xorshift64 lanes of state (two independent
// vectors of four, so that their dependency chains overlap); element k of the step takes the
// 16-bit word k%4 of lane k/4 and is scale when that word is ≤ tm1, else 0.
TEXT ·bernoulliAVX2(SB), NOSPLIT, $0-32
	MOVQ         n+0(FP), CX
	MOVQ         dst+8(FP), DI
	MOVQ         state+16(FP), SI
	VMOVDQU      (SI), Y0
	VMOVDQU      32(SI), Y8
	VPBROADCASTW tm1+24(FP), Y14
	VBROADCASTSS scale+28(FP), Y13

bernloop:
	TESTQ        CX, CX
	JLE          berndone
	VPSLLQ       $13, Y0, Y1
	VPSLLQ       $13, Y8, Y9
	VPXOR        Y1, Y0, Y0
	VPXOR        Y9, Y8, Y8
	VPSRLQ       $7, Y0, Y1
	VPSRLQ       $7, Y8, Y9
	VPXOR        Y1, Y0, Y0
	VPXOR        Y9, Y8, Y8
	VPSLLQ       $17, Y0, Y1
	VPSLLQ       $17, Y8, Y9
	VPXOR        Y1, Y0, Y0
	VPXOR        Y9, Y8, Y8
	VPMINUW      Y0, Y14, Y2    // min(u, tm1)
	VPMINUW      Y8, Y14, Y10
	VPCMPEQW     Y0, Y2, Y2     // u ≤ tm1: all ones
	VPCMPEQW     Y8, Y10, Y10
	VPMOVSXWD    X2, Y3         // words 0..7 → elements 0..7
	VEXTRACTI128 $1, Y2, X4
	VPMOVSXWD    X4, Y4         // words 8..15 → elements 8..15
	VPMOVSXWD    X10, Y11       // elements 16..23
	VEXTRACTI128 $1, Y10, X12
	VPMOVSXWD    X12, Y12       // elements 24..31
	VANDPS       Y13, Y3, Y3
	VANDPS       Y13, Y4, Y4
	VANDPS       Y13, Y11, Y11
	VANDPS       Y13, Y12, Y12
	VMOVUPS      Y3, (DI)
	VMOVUPS      Y4, 32(DI)
	VMOVUPS      Y11, 64(DI)
	VMOVUPS      Y12, 96(DI)
	ADDQ         $128, DI
	SUBQ         $32, CX
	JMP          bernloop

berndone:
	VMOVDQU Y0, (SI)
	VMOVDQU Y8, 32(SI)
	VZEROUPPER
	RET

// func maxPool2AVX2(n int, row0, row1, y *float32, arg *int32, i0, i1 int32)
// 2×2 max pooling of n outputs (a multiple of 8) from two input rows of 2n floats: y[j] is the
// maximum of a = row0[2j], b = row0[2j+1], c = row1[2j], d = row1[2j+1], and arg[j] the index
// (i0 + 2j, i0 + 2j + 1, i1 + 2j or i1 + 2j + 1) of the first of a, b, c, d equal to it.
TEXT ·maxPool2AVX2(SB), NOSPLIT, $0-48
	MOVQ         n+0(FP), CX
	MOVQ         row0+8(FP), SI
	MOVQ         row1+16(FP), BX
	MOVQ         y+24(FP), DI
	MOVQ         arg+32(FP), DX
	MOVL         i0+40(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         i1+44(FP), AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	MOVL         $1, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15         // 1
	VMOVDQU      poolRamp<>(SB), Y11 // 0, 2, ..., 14: 2j for the first block
	VPADDD       Y11, Y12, Y12    // i0 + 2j
	VPADDD       Y11, Y13, Y13    // i1 + 2j
	MOVL         $16, AX
	VMOVD        AX, X10
	VPBROADCASTD X10, Y10         // 16: the step of 2j per block

poolloop:
	TESTQ      CX, CX
	JLE        pooldone
	VMOVUPS    (SI), Y0
	VMOVUPS    32(SI), Y1
	VSHUFPS    $0x88, Y1, Y0, Y2  // even elements, lanes interleaved
	VSHUFPS    $0xDD, Y1, Y0, Y3  // odd elements
	VPERMPD    $0xD8, Y2, Y2      // a
	VPERMPD    $0xD8, Y3, Y3      // b
	VMOVUPS    (BX), Y0
	VMOVUPS    32(BX), Y1
	VSHUFPS    $0x88, Y1, Y0, Y4
	VSHUFPS    $0xDD, Y1, Y0, Y5
	VPERMPD    $0xD8, Y4, Y4      // c
	VPERMPD    $0xD8, Y5, Y5      // d
	VMAXPS     Y3, Y2, Y6
	VMAXPS     Y5, Y4, Y7
	VMAXPS     Y7, Y6, Y6         // m
	VMOVUPS    Y6, (DI)
	VPADDD     Y15, Y13, Y7       // d's index
	VCMPPS     $0, Y6, Y4, Y8     // c == m
	VBLENDVPS  Y8, Y13, Y7, Y7
	VPADDD     Y15, Y12, Y9       // b's index
	VCMPPS     $0, Y6, Y3, Y8     // b == m
	VBLENDVPS  Y8, Y9, Y7, Y7
	VCMPPS     $0, Y6, Y2, Y8     // a == m
	VBLENDVPS  Y8, Y12, Y7, Y7
	VMOVDQU    Y7, (DX)
	VPADDD     Y10, Y12, Y12
	VPADDD     Y10, Y13, Y13
	ADDQ       $64, SI
	ADDQ       $64, BX
	ADDQ       $32, DI
	ADDQ       $32, DX
	SUBQ       $8, CX
	JMP        poolloop

pooldone:
	VZEROUPPER
	RET

DATA poolRamp<>+0(SB)/4, $0
DATA poolRamp<>+4(SB)/4, $2
DATA poolRamp<>+8(SB)/4, $4
DATA poolRamp<>+12(SB)/4, $6
DATA poolRamp<>+16(SB)/4, $8
DATA poolRamp<>+20(SB)/4, $10
DATA poolRamp<>+24(SB)/4, $12
DATA poolRamp<>+28(SB)/4, $14
GLOBL poolRamp<>(SB), RODATA|NOPTR, $32

// func packBT8AVX2(kb int, src *float32, ldb int, dst *float32, nr int)
// Transposes an 8×kb block (kb a multiple of 8; row stride ldb floats) into dst: dst[p*nr+j] =
// src[j*ldb+p] for j < 8, p < kb. Each 8×8 tile is loaded as eight rows and transposed in
// registers (unpack, shuffle, 128-bit permute).
TEXT ·packBT8AVX2(SB), NOSPLIT, $0-40
	MOVQ kb+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), R8
	SHLQ $2, R8              // row stride in bytes
	MOVQ dst+24(FP), DI
	MOVQ nr+32(FP), DX
	SHLQ $2, DX              // dst row stride in bytes
	LEAQ (R8)(R8*2), R9      // 3 rows
	LEAQ (SI)(R8*4), R10     // row 4
	LEAQ (DX)(DX*2), R11     // 3 dst rows
	LEAQ (DI)(DX*4), R12     // dst row 4

ptloop:
	TESTQ      CX, CX
	JLE        ptdone
	VMOVUPS    (SI), Y0
	VMOVUPS    (SI)(R8*1), Y1
	VMOVUPS    (SI)(R8*2), Y2
	VMOVUPS    (SI)(R9*1), Y3
	VMOVUPS    (R10), Y4
	VMOVUPS    (R10)(R8*1), Y5
	VMOVUPS    (R10)(R8*2), Y6
	VMOVUPS    (R10)(R9*1), Y7
	VUNPCKLPS  Y1, Y0, Y8    // a0 b0 a1 b1 | a4 b4 a5 b5
	VUNPCKHPS  Y1, Y0, Y9    // a2 b2 a3 b3 | a6 b6 a7 b7
	VUNPCKLPS  Y3, Y2, Y10
	VUNPCKHPS  Y3, Y2, Y11
	VUNPCKLPS  Y5, Y4, Y12
	VUNPCKHPS  Y5, Y4, Y13
	VUNPCKLPS  Y7, Y6, Y14
	VUNPCKHPS  Y7, Y6, Y15
	VSHUFPS    $0x44, Y10, Y8, Y0  // a0 b0 c0 d0 | a4 b4 c4 d4
	VSHUFPS    $0xEE, Y10, Y8, Y1  // a1 b1 c1 d1 | a5 ...
	VSHUFPS    $0x44, Y11, Y9, Y2  // a2 ... | a6 ...
	VSHUFPS    $0xEE, Y11, Y9, Y3  // a3 ... | a7 ...
	VSHUFPS    $0x44, Y14, Y12, Y4 // e0 f0 g0 h0 | e4 ...
	VSHUFPS    $0xEE, Y14, Y12, Y5
	VSHUFPS    $0x44, Y15, Y13, Y6
	VSHUFPS    $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8   // column 0: a0 … h0
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12  // column 4
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS    Y8, (DI)
	VMOVUPS    Y9, (DI)(DX*1)
	VMOVUPS    Y10, (DI)(DX*2)
	VMOVUPS    Y11, (DI)(R11*1)
	VMOVUPS    Y12, (R12)
	VMOVUPS    Y13, (R12)(DX*1)
	VMOVUPS    Y14, (R12)(DX*2)
	VMOVUPS    Y15, (R12)(R11*1)
	ADDQ       $32, SI
	ADDQ       $32, R10
	LEAQ       (DI)(DX*8), DI
	LEAQ       (R12)(DX*8), R12
	SUBQ       $8, CX
	JMP        ptloop

ptdone:
	VZEROUPPER
	RET

// func biasReLUAVX2(n int, bias float32, x *float32, relu bool)
// x[i] = x[i] + bias, then, when relu is set, max(x[i], 0) with Go's rules: a NaN stays NaN and
// −0 becomes +0 (VMAXPS with 0 first returns the NaN operand; adding +0 turns −0 into +0).
TEXT ·biasReLUAVX2(SB), NOSPLIT, $0-25
	MOVQ         n+0(FP), CX
	VBROADCASTSS bias+8(FP), Y0
	MOVQ         x+16(FP), DI
	MOVBLZX      relu+24(FP), AX
	VXORPS       Y3, Y3, Y3
	TESTQ        AX, AX
	JNZ          brloop

baloop:
	TESTQ   CX, CX
	JLE     brdone
	VADDPS  (DI), Y0, Y1
	VADDPS  32(DI), Y0, Y2
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     baloop

brloop:
	TESTQ   CX, CX
	JLE     brdone
	VADDPS  (DI), Y0, Y1
	VADDPS  32(DI), Y0, Y2
	VMAXPS  Y1, Y3, Y1  // Y1 = (0 > Y1) ? 0 : Y1
	VMAXPS  Y2, Y3, Y2
	VADDPS  Y3, Y1, Y1
	VADDPS  Y3, Y2, Y2
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     brloop

brdone:
	VZEROUPPER
	RET

// func reluAVX2(n int, x, y *float32)
// y[i] = max(x[i], 0) with Go's rules (see biasReLUAVX2).
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ   n+0(FP), CX
	MOVQ   x+8(FP), SI
	MOVQ   y+16(FP), DI
	VXORPS Y3, Y3, Y3

reluloop:
	TESTQ   CX, CX
	JLE     reludone
	VMOVUPS (SI), Y1
	VMOVUPS 32(SI), Y2
	VMAXPS  Y1, Y3, Y1
	VMAXPS  Y2, Y3, Y2
	VADDPS  Y3, Y1, Y1
	VADDPS  Y3, Y2, Y2
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     reluloop

reludone:
	VZEROUPPER
	RET

// func addReLUAVX2(n int, a, b, y *float32)
// y[i] = max(a[i]+b[i], 0) with Go's rules (see reluAVX2).
TEXT ·addReLUAVX2(SB), NOSPLIT, $0-32
	MOVQ   n+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DX
	MOVQ   y+24(FP), DI
	VXORPS Y3, Y3, Y3

addreluloop:
	TESTQ   CX, CX
	JLE     addreludone
	VMOVUPS (SI), Y1
	VMOVUPS 32(SI), Y2
	VADDPS  (DX), Y1, Y1
	VADDPS  32(DX), Y2, Y2
	VMAXPS  Y1, Y3, Y1
	VMAXPS  Y2, Y3, Y2
	VADDPS  Y3, Y1, Y1
	VADDPS  Y3, Y2, Y2
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     addreluloop

addreludone:
	VZEROUPPER
	RET

// func reluMaskAVX2(n int, dx, dy, y *float32)
// dx[i] = dy[i] where the bits m of y[i] satisfy int32(m − 1) ≥ 0 (y > 0, a positive NaN, or
// −0), else +0: exactly the rule of the Go loop.
TEXT ·reluMaskAVX2(SB), NOSPLIT, $0-32
	MOVQ   n+0(FP), CX
	MOVQ   dx+8(FP), DI
	MOVQ   dy+16(FP), SI
	MOVQ   y+24(FP), BX
	VPCMPEQD Y3, Y3, Y3 // −1 in every lane

rmloop:
	TESTQ     CX, CX
	JLE       rmdone
	VPADDD    (BX), Y3, Y1 // m − 1
	VPADDD    32(BX), Y3, Y2
	VPCMPGTD  Y3, Y1, Y1 // m − 1 > −1 as int32
	VPCMPGTD  Y3, Y2, Y2
	VPAND     (SI), Y1, Y1
	VPAND     32(SI), Y2, Y2
	VMOVDQU   Y1, (DI)
	VMOVDQU   Y2, 32(DI)
	ADDQ      $64, SI
	ADDQ      $64, BX
	ADDQ      $64, DI
	SUBQ      $16, CX
	JMP       rmloop

rmdone:
	VZEROUPPER
	RET

// func sumDot64AVX2(n int, x, y *float32) (s, d float64)
// Σ x[i] and Σ x[i]·y[i] in float64 over n elements (a multiple of 16), each in sixteen lanes
// reduced as combine16 does (products of float32 values are exact in float64).
TEXT ·sumDot64AVX2(SB), NOSPLIT, $0-40
	MOVQ   n+0(FP), CX
	MOVQ   x+8(FP), SI
	MOVQ   y+16(FP), DI
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11

sdloop:
	TESTQ       CX, CX
	JLE         sddone
	VCVTPS2PD   (SI), Y0
	VCVTPS2PD   16(SI), Y1
	VCVTPS2PD   32(SI), Y2
	VCVTPS2PD   48(SI), Y3
	VADDPD      Y0, Y4, Y4
	VADDPD      Y1, Y5, Y5
	VADDPD      Y2, Y6, Y6
	VADDPD      Y3, Y7, Y7
	VCVTPS2PD   (DI), Y12
	VCVTPS2PD   16(DI), Y13
	VCVTPS2PD   32(DI), Y14
	VCVTPS2PD   48(DI), Y15
	VFMADD231PD Y12, Y0, Y8
	VFMADD231PD Y13, Y1, Y9
	VFMADD231PD Y14, Y2, Y10
	VFMADD231PD Y15, Y3, Y11
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         sdloop

sddone:
	REDUCE4PD(Y4, Y5, Y6, Y7, X4, X5)
	VMOVSD       X4, s+24(FP)
	REDUCE4PD(Y8, Y9, Y10, Y11, X8, X9)
	VMOVSD       X8, d+32(FP)
	VZEROUPPER
	RET

// func bnApplyAVX2(n int, x, xh, y *float32, c *[4]float32, mode int)
// h = (x[i] − c[0])·c[1] and v = c[2]·h + c[3] (each operation rounded, no FMA), over n elements
// (a multiple of 16); mode bit 1: store h in xh; bit 2: store v in y; bit 4: v = max(v, 0) + 0
// first (Go's max: NaN stays, −0 becomes +0).
TEXT ·bnApplyAVX2(SB), NOSPLIT, $0-48
	MOVQ         n+0(FP), CX
	MOVQ         x+8(FP), SI
	MOVQ         xh+16(FP), DI
	MOVQ         y+24(FP), DX
	MOVQ         c+32(FP), AX
	MOVQ         mode+40(FP), BX
	VBROADCASTSS (AX), Y12
	VBROADCASTSS 4(AX), Y13
	VBROADCASTSS 8(AX), Y14
	VBROADCASTSS 12(AX), Y15
	VXORPS       Y11, Y11, Y11

baploop:
	TESTQ   CX, CX
	JLE     bapdone
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSUBPS  Y12, Y0, Y0
	VSUBPS  Y12, Y1, Y1
	VMULPS  Y13, Y0, Y0
	VMULPS  Y13, Y1, Y1
	TESTQ   $1, BX
	JZ      bapnoxh
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)

bapnoxh:
	TESTQ   $2, BX
	JZ      bapnext
	VMULPS  Y14, Y0, Y0
	VMULPS  Y14, Y1, Y1
	VADDPS  Y15, Y0, Y0
	VADDPS  Y15, Y1, Y1
	TESTQ   $4, BX
	JZ      bapstore
	VMAXPS  Y0, Y11, Y0
	VMAXPS  Y1, Y11, Y1
	VADDPS  Y11, Y0, Y0
	VADDPS  Y11, Y1, Y1

bapstore:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)

bapnext:
	ADDQ    $64, SI
	ADDQ    $64, DI
	ADDQ    $64, DX
	SUBQ    $16, CX
	JMP     baploop

bapdone:
	VZEROUPPER
	RET

// func bnGradAVX2(n int, dy, xh, dx *float32, c *[4]float32)
// dx[i] = c[0]·((dy[i] − c[1]) − xh[i]·c[2]) (each operation rounded, no FMA), over n elements
// (a multiple of 16).
TEXT ·bnGradAVX2(SB), NOSPLIT, $0-40
	MOVQ         n+0(FP), CX
	MOVQ         dy+8(FP), SI
	MOVQ         xh+16(FP), BX
	MOVQ         dx+24(FP), DI
	MOVQ         c+32(FP), AX
	VBROADCASTSS (AX), Y12
	VBROADCASTSS 4(AX), Y13
	VBROADCASTSS 8(AX), Y14

bgloop:
	TESTQ   CX, CX
	JLE     bgdone
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSUBPS  Y13, Y0, Y0
	VSUBPS  Y13, Y1, Y1
	VMULPS  (BX), Y14, Y2
	VMULPS  32(BX), Y14, Y3
	VSUBPS  Y2, Y0, Y0
	VSUBPS  Y3, Y1, Y1
	VMULPS  Y12, Y0, Y0
	VMULPS  Y12, Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, BX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     bgloop

bgdone:
	VZEROUPPER
	RET

// func gsamCombineAVX2(n int, gp, gr *float32, a, k float32)
// gp[i] = x − a·(g[i] − k·x) with x = gp[i], each operation rounded (no FMA), over n elements (a
// multiple of 16): GSAM's update direction.
TEXT ·gsamCombineAVX2(SB), NOSPLIT, $0-32
	MOVQ         n+0(FP), CX
	MOVQ         gp+8(FP), DI
	MOVQ         gr+16(FP), SI
	VBROADCASTSS a+24(FP), Y14
	VBROADCASTSS k+28(FP), Y15

gcloop:
	TESTQ   CX, CX
	JLE     gcdone
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMULPS  Y15, Y0, Y2 // k·x
	VMULPS  Y15, Y1, Y3
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VSUBPS  Y2, Y4, Y4 // g − k·x
	VSUBPS  Y3, Y5, Y5
	VMULPS  Y14, Y4, Y4 // a·(…)
	VMULPS  Y14, Y5, Y5
	VSUBPS  Y4, Y0, Y0 // x − a·(…)
	VSUBPS  Y5, Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     gcloop

gcdone:
	VZEROUPPER
	RET

// func asamStepAVX2(n int, ds, bs, ws, gs *float32, c, eta float32)
// ds[i] = bs[i] + ((c·t)·t)·gs[i], t = |ws[i]| + eta, each operation rounded (no FMA), over n
// elements (a multiple of 16): ASAM's ε for p = 2.
TEXT ·asamStepAVX2(SB), NOSPLIT, $0-48
	MOVQ         n+0(FP), CX
	MOVQ         ds+8(FP), DI
	MOVQ         bs+16(FP), BX
	MOVQ         ws+24(FP), SI
	MOVQ         gs+32(FP), DX
	VBROADCASTSS c+40(FP), Y14
	VBROADCASTSS eta+44(FP), Y15
	VPCMPEQD     Y13, Y13, Y13
	VPSRLD       $1, Y13, Y13 // 0x7fffffff: clears the sign bit

asloop:
	TESTQ   CX, CX
	JLE     asdone
	VANDPS  (SI), Y13, Y0
	VANDPS  32(SI), Y13, Y1
	VADDPS  Y15, Y0, Y0 // t
	VADDPS  Y15, Y1, Y1
	VMULPS  Y14, Y0, Y2 // c·t
	VMULPS  Y14, Y1, Y3
	VMULPS  Y0, Y2, Y2  // ·t
	VMULPS  Y1, Y3, Y3
	VMULPS  (DX), Y2, Y2 // ·g
	VMULPS  32(DX), Y3, Y3
	VADDPS  (BX), Y2, Y2 // bs + …
	VADDPS  32(BX), Y3, Y3
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, BX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     asloop

asdone:
	VZEROUPPER
	RET

// func sumSqScaled64AVX2(n int, w, gr *float32, eta float32) float64
// Σ z², z = float64((|w[i]| + eta)·g[i]) (the product rounded to float32), in sixteen float64
// lanes reduced as combine16, over n elements (a multiple of 16).
TEXT ·sumSqScaled64AVX2(SB), NOSPLIT, $0-40
	MOVQ         n+0(FP), CX
	MOVQ         w+8(FP), SI
	MOVQ         gr+16(FP), DX
	VBROADCASTSS eta+24(FP), Y15
	VPCMPEQD     Y13, Y13, Y13
	VPSRLD       $1, Y13, Y13
	VXORPD       Y4, Y4, Y4
	VXORPD       Y5, Y5, Y5
	VXORPD       Y6, Y6, Y6
	VXORPD       Y7, Y7, Y7

ssloop:
	TESTQ       CX, CX
	JLE         ssdone
	VANDPS      (SI), Y13, Y0
	VANDPS      32(SI), Y13, Y1
	VADDPS      Y15, Y0, Y0
	VADDPS      Y15, Y1, Y1
	VMULPS      (DX), Y0, Y0
	VMULPS      32(DX), Y1, Y1
	VCVTPS2PD   X0, Y8
	VEXTRACTF128 $1, Y0, X0
	VCVTPS2PD   X0, Y9
	VCVTPS2PD   X1, Y10
	VEXTRACTF128 $1, Y1, X1
	VCVTPS2PD   X1, Y11
	VFMADD231PD Y8, Y8, Y4
	VFMADD231PD Y9, Y9, Y5
	VFMADD231PD Y10, Y10, Y6
	VFMADD231PD Y11, Y11, Y7
	ADDQ        $64, SI
	ADDQ        $64, DX
	SUBQ        $16, CX
	JMP         ssloop

ssdone:
	REDUCE4PD(Y4, Y5, Y6, Y7, X4, X5)
	VMOVSD       X4, ret+32(FP)
	VZEROUPPER
	RET
