#if canImport(Glibc)
import Glibc
#endif
import LatentCLI
import LatentCore

#if canImport(Glibc)
// OpenBLAS reads its settings when it is loaded, before main; a changed setting needs a fresh start
// of the process (once: the variables are then set).
// - Latent keeps OpenBLAS at one thread and splits rows over cores itself. Without
//   OPENBLAS_NUM_THREADS, OpenBLAS's idle worker threads spin on sched_yield for a while and compete
//   with ours (measured: 10–15% of a short fit).
// - An OpenBLAS older than the CPU falls back to pre-AVX2 kernels (see BLAS.recommendedCoreType);
//   OPENBLAS_CORETYPE picks the kernels the CPU can run.
// A value the user chose is kept.
var restart = false
if getenv("OPENBLAS_NUM_THREADS") == nil {
    setenv("OPENBLAS_NUM_THREADS", "1", 1)
    restart = true
}
if getenv("OPENBLAS_CORETYPE") == nil, let coreType = BLAS.recommendedCoreType {
    setenv("OPENBLAS_CORETYPE", coreType, 1)
    restart = true
}
if restart {
    var arguments: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
    arguments.append(nil)
    execv("/proc/self/exe", arguments)
    // If exec fails, carry on in this process.
}
#endif

BLAS.keepLargeAllocations()
LatentCommand.main()
