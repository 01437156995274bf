package tensor

import "unsafe"

// The portable micro-kernel computes a 1×12 tile of C.
//
// Why 1×12: the Go compiler (GOAMD64=v1, the default) emits scalar SSE code
// and has 15 usable XMM registers. A 1×12 tile keeps 12 accumulators, the
// broadcast A value and one product temporary in registers; every larger
// register block that was measured (2×4, 2×6, 3×3, 3×4, 4×4, 4×8, 6×8, …)
// either spills accumulators or ends up with a worse schedule. The k loop is
// unrolled 8 times and written as a single basic block (no bounds checks
// inside, loop test at the bottom): the SSA scheduler then interleaves each
// multiply with its add instead of deferring all loop-carried adds to the end
// of the body, which would force the products to spill.
//
// Every product is rounded explicitly (float32(x*y)) so that the compiler
// never fuses it into an FMA: results are the same with GOAMD64=v1 and v3,
// and FMA would not raise the scalar throughput anyway.
const (
	goMR = 1
	goNR = 12
)

// microKernelGo is the portable micro-kernel (goMR×goNR = 1×12).
// See kernelSpec for the contract.
func microKernelGo(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	var c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11 float32
	if kc > 0 {
		// Bounds are checked once here; the loops below index with
		// offsets that stay inside these ranges.
		_ = a[kc-1]
		_ = b[kc*goNR-1]
		pa := unsafe.Pointer(unsafe.SliceData(a))
		pb := unsafe.Pointer(unsafe.SliceData(b))
		p := 0
		if kc >= 8 {
			for {
				q := uintptr(p)
				{
					av := *(*float32)(unsafe.Add(pa, q*4+0))
					c0 += float32(av * *(*float32)(unsafe.Add(pb, q*48+0)))
					c1 += float32(av * *(*float32)(unsafe.Add(pb, q*48+4)))
					c2 += float32(av * *(*float32)(unsafe.Add(pb, q*48+8)))
					c3 += float32(av * *(*float32)(unsafe.Add(pb, q*48+12)))
					c4 += float32(av * *(*float32)(unsafe.Add(pb, q*48+16)))
					c5 += float32(av * *(*float32)(unsafe.Add(pb, q*48+20)))
					c6 += float32(av * *(*float32)(unsafe.Add(pb, q*48+24)))
					c7 += float32(av * *(*float32)(unsafe.Add(pb, q*48+28)))
					c8 += float32(av * *(*float32)(unsafe.Add(pb, q*48+32)))
					c9 += float32(av * *(*float32)(unsafe.Add(pb, q*48+36)))
					c10 += float32(av * *(*float32)(unsafe.Add(pb, q*48+40)))
					c11 += float32(av * *(*float32)(unsafe.Add(pb, q*48+44)))
				}
				{
					av := *(*float32)(unsafe.Add(pa, q*4+4))
					c0 += float32(av * *(*float32)(unsafe.Add(pb, q*48+48)))
					c1 += float32(av * *(*float32)(unsafe.Add(pb, q*48+52)))
					c2 += float32(av * *(*float32)(unsafe.Add(pb, q*48+56)))
					c3 += float32(av * *(*float32)(unsafe.Add(pb, q*48+60)))
					c4 += float32(av * *(*float32)(unsafe.Add(pb, q*48+64)))
					c5 += float32(av * *(*float32)(unsafe.Add(pb, q*48+68)))
					c6 += float32(av * *(*float32)(unsafe.Add(pb, q*48+72)))
					c7 += float32(av * *(*float32)(unsafe.Add(pb, q*48+76)))
					c8 += float32(av * *(*float32)(unsafe.Add(pb, q*48+80)))
					c9 += float32(av * *(*float32)(unsafe.Add(pb, q*48+84)))
					c10 += float32(av * *(*float32)(unsafe.Add(pb, q*48+88)))
					c11 += float32(av * *(*float32)(unsafe.Add(pb, q*48+92)))
				}
				{
					av := *(*float32)(unsafe.Add(pa, q*4+8))
					c0 += float32(av * *(*float32)(unsafe.Add(pb, q*48+96)))
					c1 += float32(av * *(*float32)(unsafe.Add(pb, q*48+100)))
					c2 += float32(av * *(*float32)(unsafe.Add(pb, q*48+104)))
					c3 += float32(av * *(*float32)(unsafe.Add(pb, q*48+108)))
					c4 += float32(av * *(*float32)(unsafe.Add(pb, q*48+112)))
					c5 += float32(av * *(*float32)(unsafe.Add(pb, q*48+116)))
					c6 += float32(av * *(*float32)(unsafe.Add(pb, q*48+120)))
					c7 += float32(av * *(*float32)(unsafe.Add(pb, q*48+124)))
					c8 += float32(av * *(*float32)(unsafe.Add(pb, q*48+128)))
					c9 += float32(av * *(*float32)(unsafe.Add(pb, q*48+132)))
					c10 += float32(av * *(*float32)(unsafe.Add(pb, q*48+136)))
					c11 += float32(av * *(*float32)(unsafe.Add(pb, q*48+140)))
				}
				{
					av := *(*float32)(unsafe.Add(pa, q*4+12))
					c0 += float32(av * *(*float32)(unsafe.Add(pb, q*48+144)))
					c1 += float32(av * *(*float32)(unsafe.Add(pb, q*48+148)))
					c2 += float32(av * *(*float32)(unsafe.Add(pb, q*48+152)))
					c3 += float32(av * *(*float32)(unsafe.Add(pb, q*48+156)))
					c4 += float32(av * *(*float32)(unsafe.Add(pb, q*48+160)))
					c5 += float32(av * *(*float32)(unsafe.Add(pb, q*48+164)))
					c6 += float32(av * *(*float32)(unsafe.Add(pb, q*48+168)))
					c7 += float32(av * *(*float32)(unsafe.Add(pb, q*48+172)))
					c8 += float32(av * *(*float32)(unsafe.Add(pb, q*48+176)))
					c9 += float32(av * *(*float32)(unsafe.Add(pb, q*48+180)))
					c10 += float32(av * *(*float32)(unsafe.Add(pb, q*48+184)))
					c11 += float32(av * *(*float32)(unsafe.Add(pb, q*48+188)))
				}
				{
					av := *(*float32)(unsafe.Add(pa, q*4+16))
					c0 += float32(av * *(*float32)(unsafe.Add(pb, q*48+192)))
					c1 += float32(av * *(*float32)(unsafe.Add(pb, q*48+196)))
					c2 += float32(av * *(*float32)(unsafe.Add(pb, q*48+200)))
					c3 += float32(av * *(*float32)(unsafe.Add(pb, q*48+204)))
					c4 += float32(av * *(*float32)(unsafe.Add(pb, q*48+208)))
					c5 += float32(av * *(*float32)(unsafe.Add(pb, q*48+212)))
					c6 += float32(av * *(*float32)(unsafe.Add(pb, q*48+216)))
					c7 += float32(av * *(*float32)(unsafe.Add(pb, q*48+220)))
					c8 += float32(av * *(*float32)(unsafe.Add(pb, q*48+224)))
					c9 += float32(av * *(*float32)(unsafe.Add(pb, q*48+228)))
					c10 += float32(av * *(*float32)(unsafe.Add(pb, q*48+232)))
					c11 += float32(av * *(*float32)(unsafe.Add(pb, q*48+236)))
				}
				{
					av := *(*float32)(unsafe.Add(pa, q*4+20))
					c0 += float32(av * *(*float32)(unsafe.Add(pb, q*48+240)))
					c1 += float32(av * *(*float32)(unsafe.Add(pb, q*48+244)))
					c2 += float32(av * *(*float32)(unsafe.Add(pb, q*48+248)))
					c3 += float32(av * *(*float32)(unsafe.Add(pb, q*48+252)))
					c4 += float32(av * *(*float32)(unsafe.Add(pb, q*48+256)))
					c5 += float32(av * *(*float32)(unsafe.Add(pb, q*48+260)))
					c6 += float32(av * *(*float32)(unsafe.Add(pb, q*48+264)))
					c7 += float32(av * *(*float32)(unsafe.Add(pb, q*48+268)))
					c8 += float32(av * *(*float32)(unsafe.Add(pb, q*48+272)))
					c9 += float32(av * *(*float32)(unsafe.Add(pb, q*48+276)))
					c10 += float32(av * *(*float32)(unsafe.Add(pb, q*48+280)))
					c11 += float32(av * *(*float32)(unsafe.Add(pb, q*48+284)))
				}
				{
					av := *(*float32)(unsafe.Add(pa, q*4+24))
					c0 += float32(av * *(*float32)(unsafe.Add(pb, q*48+288)))
					c1 += float32(av * *(*float32)(unsafe.Add(pb, q*48+292)))
					c2 += float32(av * *(*float32)(unsafe.Add(pb, q*48+296)))
					c3 += float32(av * *(*float32)(unsafe.Add(pb, q*48+300)))
					c4 += float32(av * *(*float32)(unsafe.Add(pb, q*48+304)))
					c5 += float32(av * *(*float32)(unsafe.Add(pb, q*48+308)))
					c6 += float32(av * *(*float32)(unsafe.Add(pb, q*48+312)))
					c7 += float32(av * *(*float32)(unsafe.Add(pb, q*48+316)))
					c8 += float32(av * *(*float32)(unsafe.Add(pb, q*48+320)))
					c9 += float32(av * *(*float32)(unsafe.Add(pb, q*48+324)))
					c10 += float32(av * *(*float32)(unsafe.Add(pb, q*48+328)))
					c11 += float32(av * *(*float32)(unsafe.Add(pb, q*48+332)))
				}
				{
					av := *(*float32)(unsafe.Add(pa, q*4+28))
					c0 += float32(av * *(*float32)(unsafe.Add(pb, q*48+336)))
					c1 += float32(av * *(*float32)(unsafe.Add(pb, q*48+340)))
					c2 += float32(av * *(*float32)(unsafe.Add(pb, q*48+344)))
					c3 += float32(av * *(*float32)(unsafe.Add(pb, q*48+348)))
					c4 += float32(av * *(*float32)(unsafe.Add(pb, q*48+352)))
					c5 += float32(av * *(*float32)(unsafe.Add(pb, q*48+356)))
					c6 += float32(av * *(*float32)(unsafe.Add(pb, q*48+360)))
					c7 += float32(av * *(*float32)(unsafe.Add(pb, q*48+364)))
					c8 += float32(av * *(*float32)(unsafe.Add(pb, q*48+368)))
					c9 += float32(av * *(*float32)(unsafe.Add(pb, q*48+372)))
					c10 += float32(av * *(*float32)(unsafe.Add(pb, q*48+376)))
					c11 += float32(av * *(*float32)(unsafe.Add(pb, q*48+380)))
				}
				p += 8
				if p+8 > kc {
					break
				}
			}
		}
		if p < kc {
			for {
				q := uintptr(p)
				av := *(*float32)(unsafe.Add(pa, q*4))
				c0 += float32(av * *(*float32)(unsafe.Add(pb, q*48+0)))
				c1 += float32(av * *(*float32)(unsafe.Add(pb, q*48+4)))
				c2 += float32(av * *(*float32)(unsafe.Add(pb, q*48+8)))
				c3 += float32(av * *(*float32)(unsafe.Add(pb, q*48+12)))
				c4 += float32(av * *(*float32)(unsafe.Add(pb, q*48+16)))
				c5 += float32(av * *(*float32)(unsafe.Add(pb, q*48+20)))
				c6 += float32(av * *(*float32)(unsafe.Add(pb, q*48+24)))
				c7 += float32(av * *(*float32)(unsafe.Add(pb, q*48+28)))
				c8 += float32(av * *(*float32)(unsafe.Add(pb, q*48+32)))
				c9 += float32(av * *(*float32)(unsafe.Add(pb, q*48+36)))
				c10 += float32(av * *(*float32)(unsafe.Add(pb, q*48+40)))
				c11 += float32(av * *(*float32)(unsafe.Add(pb, q*48+44)))
				p++
				if p >= kc {
					break
				}
			}
		}
	}
	cc := c[:goNR:goNR]
	if beta == 0 {
		cc[0] = alpha * c0
		cc[1] = alpha * c1
		cc[2] = alpha * c2
		cc[3] = alpha * c3
		cc[4] = alpha * c4
		cc[5] = alpha * c5
		cc[6] = alpha * c6
		cc[7] = alpha * c7
		cc[8] = alpha * c8
		cc[9] = alpha * c9
		cc[10] = alpha * c10
		cc[11] = alpha * c11
	} else {
		cc[0] = float32(alpha*c0) + float32(beta*cc[0])
		cc[1] = float32(alpha*c1) + float32(beta*cc[1])
		cc[2] = float32(alpha*c2) + float32(beta*cc[2])
		cc[3] = float32(alpha*c3) + float32(beta*cc[3])
		cc[4] = float32(alpha*c4) + float32(beta*cc[4])
		cc[5] = float32(alpha*c5) + float32(beta*cc[5])
		cc[6] = float32(alpha*c6) + float32(beta*cc[6])
		cc[7] = float32(alpha*c7) + float32(beta*cc[7])
		cc[8] = float32(alpha*c8) + float32(beta*cc[8])
		cc[9] = float32(alpha*c9) + float32(beta*cc[9])
		cc[10] = float32(alpha*c10) + float32(beta*cc[10])
		cc[11] = float32(alpha*c11) + float32(beta*cc[11])
	}
}
