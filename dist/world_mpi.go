//go:build mpi

package dist

/*
#cgo pkg-config: mpi
#include <stdlib.h>
#include <mpi.h>

static int sam_init(int *rank, int *size) {
	int provided, rc;
	// Open MPI's own SIGSEGV/SIGBUS handlers would replace the Go runtime's.
	setenv("OMPI_MCA_opal_signal", "", 0);
	rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
	if (rc != MPI_SUCCESS) return rc;
	if (provided < MPI_THREAD_SERIALIZED) return -1;
	MPI_Comm_rank(MPI_COMM_WORLD, rank);
	MPI_Comm_size(MPI_COMM_WORLD, size);
	return MPI_SUCCESS;
}

static MPI_Op sam_op(int op) { return op == 2 ? MPI_MAX : MPI_SUM; }

// With more than two ranks an all-reduce may combine in a different order on each rank; a
// reduction to rank 0 and a broadcast give every rank the same bits.
static void sam_allreduce(void *x, int n, MPI_Datatype t, int op, int size) {
	if (size <= 2) {
		MPI_Allreduce(MPI_IN_PLACE, x, n, t, sam_op(op), MPI_COMM_WORLD);
		return;
	}
	int rank;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Reduce(rank == 0 ? MPI_IN_PLACE : x, x, n, t, sam_op(op), 0, MPI_COMM_WORLD);
	MPI_Bcast(x, n, t, 0, MPI_COMM_WORLD);
}
static void sam_allreduce32(float *x, int n, int op, int size) { sam_allreduce(x, n, MPI_FLOAT, op, size); }
static void sam_allreduce64(double *x, int n, int op, int size) { sam_allreduce(x, n, MPI_DOUBLE, op, size); }
static void sam_bcast32(float *x, int n, int root) { MPI_Bcast(x, n, MPI_FLOAT, root, MPI_COMM_WORLD); }
static void sam_bcastb(void *x, int n, int root) { MPI_Bcast(x, n, MPI_BYTE, root, MPI_COMM_WORLD); }
static void sam_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }
static int sam_finalize(void) { return MPI_Finalize(); }
*/
import "C"

import (
	"fmt"
	"os"
	"unsafe"
)

// MPI reports whether this build has the MPI backend (the build tag mpi).
const MPI = true

// chunk bounds the element count of one MPI call (MPI counts are C ints).
const chunk = 1 << 28

type mpiComm struct{ rank, size int }

// World returns MPI's world communicator when the process was started by an MPI launcher
// (mpirun, mpiexec, srun --mpi=pmix), and Single otherwise (a plain start needs no MPI).
func World() (Comm, error) {
	launched := false
	for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"} {
		if os.Getenv(v) != "" {
			launched = true
		}
	}
	if !launched {
		return Single{}, nil
	}
	var rank, size C.int
	if rc := C.sam_init(&rank, &size); rc != C.MPI_SUCCESS {
		return nil, fmt.Errorf("dist: MPI_Init_thread failed (code %d; -1: no MPI_THREAD_SERIALIZED)", int(rc))
	}
	return &mpiComm{rank: int(rank), size: int(size)}, nil
}

func (c *mpiComm) Rank() int { return c.rank }
func (c *mpiComm) Size() int { return c.size }

func code(op Op) C.int {
	if op == Max {
		return 2
	}
	return 0
}

func (c *mpiComm) AllReduce32(x []float32, op Op) {
	for lo := 0; lo < len(x); lo += chunk {
		p := x[lo:min(lo+chunk, len(x))]
		C.sam_allreduce32((*C.float)(unsafe.Pointer(&p[0])), C.int(len(p)), code(op), C.int(c.size))
	}
	if op == Mean {
		f := 1 / float32(c.size)
		for i := range x {
			x[i] *= f
		}
	}
}

func (c *mpiComm) AllReduce64(x []float64, op Op) {
	for lo := 0; lo < len(x); lo += chunk {
		p := x[lo:min(lo+chunk, len(x))]
		C.sam_allreduce64((*C.double)(unsafe.Pointer(&p[0])), C.int(len(p)), code(op), C.int(c.size))
	}
	if op == Mean {
		for i := range x {
			x[i] /= float64(c.size)
		}
	}
}

func (c *mpiComm) Bcast32(x []float32, root int) {
	for lo := 0; lo < len(x); lo += chunk {
		p := x[lo:min(lo+chunk, len(x))]
		C.sam_bcast32((*C.float)(unsafe.Pointer(&p[0])), C.int(len(p)), C.int(root))
	}
}

func (c *mpiComm) BcastBytes(b []byte, root int) {
	for lo := 0; lo < len(b); lo += chunk {
		p := b[lo:min(lo+chunk, len(b))]
		C.sam_bcastb(unsafe.Pointer(&p[0]), C.int(len(p)), C.int(root))
	}
}

func (c *mpiComm) Abort(code int) { C.sam_abort(C.int(code)) }

func (c *mpiComm) Close() error {
	if rc := C.sam_finalize(); rc != C.MPI_SUCCESS {
		return fmt.Errorf("dist: MPI_Finalize failed (code %d)", int(rc))
	}
	return nil
}
