#if canImport(Glibc)
import Glibc

// Latent keeps OpenBLAS at one thread and splits rows over cores itself. OpenBLAS reads
// OPENBLAS_NUM_THREADS when it is loaded, before main: without it, its idle worker threads spin on
// sched_yield for a while and compete with ours (measured: 10–15% of a short fit). So start again
// with the variable set, unless the user chose a value.
if getenv("OPENBLAS_NUM_THREADS") == nil {
    setenv("OPENBLAS_NUM_THREADS", "1", 1)
    var arguments: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
    arguments.append(nil)
    execv("/proc/self/exe", arguments)
    // If exec fails, carry on in this process.
}
#endif
import LatentCLI
import LatentCore

BLAS.keepLargeAllocations()
LatentCommand.main()
