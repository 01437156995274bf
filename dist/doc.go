// Package dist is the communicator that data-parallel training runs over: the rank of this
// process, the number of ranks, in-place all-reduce of float32 and float64 vectors, broadcast,
// and abort.
//
// The default (pure Go) build has one implementation, Single: one process, rank 0 of 1, where
// every collective is the identity. Built with the tag mpi (and cgo: `CGO_ENABLED=1 go build
// -tags mpi`), World opens MPI's world communicator through the MPI C library (Open MPI or
// MPICH, found with pkg-config's `mpi`), so that `mpirun -np N prog` runs N ranks. MPI does all
// transport and collectives; an MPI failure aborts the whole job (MPI's default error handler).
//
// Agree turns an error that some ranks hit (a file missing on one node, a write that failed on
// rank 0) into the same error on every rank, so that all ranks stop together with one message.
package dist
