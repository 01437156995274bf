//go:build !mpi

package dist

// MPI reports whether this build has the MPI backend (the build tag mpi).
const MPI = false

// World returns the communicator of all processes of the job: in this build (without the tag
// mpi) always Single, one process.
func World() (Comm, error) { return Single{}, nil }
