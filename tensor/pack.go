package tensor

import "unsafe"

// Packing fast paths for the tile shapes of the assembly kernels (6-, 8- and
// 12-row A panels, 16- and 32-column B panels). Each packs whole
// micro-panels in the format described at kernelSpec; the generic loops in
// gemm.go handle edges and other tile shapes.

// hasPackA reports whether packA/packAT handle panels of mr rows.
func hasPackA(mr int) bool { return mr == 6 || mr == 8 || mr == 12 }

// hasPackB reports whether packB/packBT handle panels of nr columns.
func hasPackB(nr int) bool { return nr == 16 || nr == 32 }

// packA packs one mr×kb panel of non-transposed A (mr = 6, 8 or 12):
// src[i*lda+p] is op(A)[i, p]; dst[p*mr+i] = src[i*lda+p].
func packA(dst, src []float32, lda, kb, mr int) {
	switch mr {
	case 12:
		packA6x2(dst, src, lda, kb)
		return
	case 8:
		packA8(dst, src, lda, kb)
		return
	}
	dst = dst[:6*kb]
	a0 := src[0*lda:][:kb]
	a1 := src[1*lda:][:kb]
	a2 := src[2*lda:][:kb]
	a3 := src[3*lda:][:kb]
	a4 := src[4*lda:][:kb]
	a5 := src[5*lda:][:kb]
	for p := range a0 {
		d := dst[p*6 : p*6+6 : p*6+6]
		d[0] = a0[p]
		d[1] = a1[p]
		d[2] = a2[p]
		d[3] = a3[p]
		d[4] = a4[p]
		d[5] = a5[p]
	}
}

// packA8 is packA for mr = 8: one 8×kb transpose in registers, then the tail columns.
func packA8(dst, src []float32, lda, kb int) {
	dst = dst[:8*kb]
	kb8 := kb &^ 7
	if kb8 == 0 || !packBT8Asm(dst, src, lda, kb8, 8) {
		kb8 = 0
	}
	for i := 0; i < 8; i++ {
		row := src[i*lda:][:kb]
		for p := kb8; p < kb; p++ {
			dst[p*8+i] = row[p]
		}
	}
}

// packA6x2 is packA for mr = 12, six rows at a time.
func packA6x2(dst, src []float32, lda, kb int) {
	dst = dst[:12*kb]
	if kb8 := kb &^ 7; kb8 > 0 && packBT8Asm(dst, src, lda, kb8, 12) {
		// Rows 0–7 and 4–11 as two 8×kb transposes in registers (rows 4–7 written twice, the
		// same values), then the tail columns below.
		packBT8Asm(dst[4:], src[4*lda:], lda, kb8, 12)
		if kb8 == kb {
			return
		}
		for i := 0; i < 12; i++ {
			row := src[i*lda:][:kb]
			for p := kb8; p < kb; p++ {
				dst[p*12+i] = row[p]
			}
		}
		return
	}
	for h := 0; h < 12; h += 6 {
		a0 := src[(h+0)*lda:][:kb]
		a1 := src[(h+1)*lda:][:kb]
		a2 := src[(h+2)*lda:][:kb]
		a3 := src[(h+3)*lda:][:kb]
		a4 := src[(h+4)*lda:][:kb]
		a5 := src[(h+5)*lda:][:kb]
		for p := range a0 {
			d := dst[p*12+h : p*12+h+6 : p*12+h+6]
			d[0] = a0[p]
			d[1] = a1[p]
			d[2] = a2[p]
			d[3] = a3[p]
			d[4] = a4[p]
			d[5] = a5[p]
		}
	}
}

// packAT packs np consecutive mr×kb panels of transposed A (mr = 6, 8 or 12):
// src[p*lda+i] is op(A)[i, p] for i < mr·np; panel t goes to dst[t*mr*kb:],
// element (i, p) of it to dst[t*mr*kb+p*mr+i%mr].
func packAT(dst, src []float32, lda, kb, np, mr int) {
	dst = dst[:np*mr*kb]
	for p := 0; p < kb; p++ {
		row := src[p*lda:][: np*mr : np*mr]
		switch mr {
		case 12:
			for t := 0; t < np; t++ {
				*(*[12]float32)(dst[t*12*kb+p*12:]) = *(*[12]float32)(row[t*12:])
			}
			continue
		case 8:
			for t := 0; t < np; t++ {
				*(*[8]float32)(dst[t*8*kb+p*8:]) = *(*[8]float32)(row[t*8:])
			}
			continue
		}
		for t := 0; t < np; t++ {
			*(*[6]float32)(dst[t*6*kb+p*6:]) = *(*[6]float32)(row[t*6:])
		}
	}
}

// packB packs one kb×nr panel of non-transposed B (nr = 16 or 32):
// src[p*ldb+j] is op(B)[p, j]; dst[p*nr+j] = src[p*ldb+j].
func packB(dst, src []float32, ldb, kb, nr int) {
	dst = dst[:nr*kb]
	_ = src[(kb-1)*ldb+nr-1]
	s := unsafe.Pointer(unsafe.SliceData(src))
	if nr == 32 {
		for p := 0; p < kb; p++ {
			*(*[32]float32)(dst[p*32:]) = *(*[32]float32)(unsafe.Add(s, p*ldb*4))
		}
		return
	}
	for p := 0; p < kb; p++ {
		*(*[16]float32)(dst[p*16:]) = *(*[16]float32)(unsafe.Add(s, p*ldb*4))
	}
}

// packBT packs one kb×nr panel of transposed B (nr = 16 or 32):
// src[j*ldb+p] is op(B)[p, j]; dst[p*nr+j] = src[j*ldb+p]. It reads eight
// rows of src in parallel so that dst is written in runs of eight.
func packBT(dst, src []float32, ldb, kb, nr int) {
	dst = dst[:nr*kb]
	_ = src[(nr-1)*ldb+kb-1]
	for j0 := 0; j0 < nr; j0 += 8 {
		p0 := 0
		if kb8 := kb &^ 7; packBT8Asm(dst[j0:], src[j0*ldb:], ldb, kb8, nr) {
			p0 = kb8 // 8×8 tiles transposed in registers (AVX2)
		}
		s := unsafe.Pointer(&src[j0*ldb])
		d := unsafe.Pointer(&dst[j0])
		st := uintptr(ldb) * 4
		for p := p0; p < kb; p++ {
			q := unsafe.Add(s, p*4)
			o := (*[8]float32)(unsafe.Add(d, p*nr*4))
			o[0] = *(*float32)(q)
			o[1] = *(*float32)(unsafe.Add(q, st))
			o[2] = *(*float32)(unsafe.Add(q, 2*st))
			o[3] = *(*float32)(unsafe.Add(q, 3*st))
			o[4] = *(*float32)(unsafe.Add(q, 4*st))
			o[5] = *(*float32)(unsafe.Add(q, 5*st))
			o[6] = *(*float32)(unsafe.Add(q, 6*st))
			o[7] = *(*float32)(unsafe.Add(q, 7*st))
		}
	}
}
