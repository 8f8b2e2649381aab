#ifndef LATENT_CLAPACK_H
#define LATENT_CLAPACK_H
/*
 * The one place where Latent meets C: CBLAS for BLAS-1/2/3 and a handful of LAPACK routines,
 * wrapped so that every caller sees the same column-major, 32-bit-integer interface on Linux
 * (OpenBLAS + LAPACKE) and on Apple platforms (Accelerate).
 */
#if defined(__APPLE__)
#define ACCELERATE_NEW_LAPACK
#include <Accelerate/Accelerate.h>
#include <stdlib.h>
#else
#include <cblas.h>
#include <lapacke.h>
#include <malloc.h>
#endif

/// Keeps large temporary arrays on the heap instead of fresh mmap'd pages (glibc only): EM allocates
/// buffers of the data's size every iteration, and glibc's default returns them to the kernel each
/// time, paying page faults on the next.
static inline void latent_keep_large_allocations(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

/// Pins the BLAS library to `n` threads (Latent parallelises over rows itself).
static inline void latent_blas_set_threads(int n) {
#if defined(__APPLE__)
    (void)n;
#else
    openblas_set_num_threads(n);
#endif
}

/// The name of the kernel set the BLAS library chose for this CPU (OpenBLAS's core name, e.g.
/// "Haswell", "SkylakeX"; "Accelerate" on Apple platforms).
static inline const char *latent_blas_core_name(void) {
#if defined(__APPLE__)
    return "Accelerate";
#else
    return openblas_get_corename();
#endif
}

/// 1 when the CPU executes AVX2 and FMA instructions (x86-64 only), else 0.
static inline int latent_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/// 1 when the CPU executes AVX-512 Foundation instructions (x86-64 only), else 0.
static inline int latent_cpu_has_avx512f(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/// Cholesky factorisation of a symmetric positive-definite column-major matrix. Returns LAPACK's info.
static inline int latent_dpotrf(char uplo, int n, double *a, int lda) {
#if defined(__APPLE__)
    __LAPACK_int info = 0, nn = n, ld = lda;
    dpotrf_(&uplo, &nn, a, &ld, &info);
    return (int)info;
#else
    return (int)LAPACKE_dpotrf(LAPACK_COL_MAJOR, uplo, n, a, lda);
#endif
}

/// Inverse of a triangular column-major matrix in place. Returns LAPACK's info.
static inline int latent_dtrtri(char uplo, char diag, int n, double *a, int lda) {
#if defined(__APPLE__)
    __LAPACK_int info = 0, nn = n, ld = lda;
    dtrtri_(&uplo, &diag, &nn, a, &ld, &info);
    return (int)info;
#else
    return (int)LAPACKE_dtrtri(LAPACK_COL_MAJOR, uplo, diag, n, a, lda);
#endif
}

/// Eigen-decomposition of a symmetric column-major matrix (divide and conquer).
/// Eigenvalues ascend in `w`; with jobz 'V' the eigenvectors replace `a` column by column.
static inline int latent_dsyevd(char jobz, char uplo, int n, double *a, int lda, double *w) {
#if defined(__APPLE__)
    __LAPACK_int info = 0, nn = n, ld = lda, lwork = -1, liwork = -1, iw = 0;
    double wq = 0;
    dsyevd_(&jobz, &uplo, &nn, a, &ld, w, &wq, &lwork, &iw, &liwork, &info);
    if (info != 0) return (int)info;
    lwork = (__LAPACK_int)wq; liwork = iw;
    double *work = (double *)malloc(sizeof(double) * (size_t)lwork);
    __LAPACK_int *iwork = (__LAPACK_int *)malloc(sizeof(__LAPACK_int) * (size_t)liwork);
    dsyevd_(&jobz, &uplo, &nn, a, &ld, w, work, &lwork, iwork, &liwork, &info);
    free(work); free(iwork);
    return (int)info;
#else
    return (int)LAPACKE_dsyevd(LAPACK_COL_MAJOR, jobz, uplo, n, a, lda, w);
#endif
}

/// Singular value decomposition of a column-major m x n matrix (divide and conquer, thin factors).
static inline int latent_dgesdd(int m, int n, double *a, int lda, double *s,
                                double *u, int ldu, double *vt, int ldvt) {
#if defined(__APPLE__)
    char jobz = 'S';
    __LAPACK_int info = 0, mm = m, nn = n, la = lda, lu = ldu, lv = ldvt, lwork = -1;
    int k = m < n ? m : n;
    __LAPACK_int *iwork = (__LAPACK_int *)malloc(sizeof(__LAPACK_int) * 8 * (size_t)k);
    double wq = 0;
    dgesdd_(&jobz, &mm, &nn, a, &la, s, u, &lu, vt, &lv, &wq, &lwork, iwork, &info);
    if (info == 0) {
        lwork = (__LAPACK_int)wq;
        double *work = (double *)malloc(sizeof(double) * (size_t)lwork);
        dgesdd_(&jobz, &mm, &nn, a, &la, s, u, &lu, vt, &lv, work, &lwork, iwork, &info);
        free(work);
    }
    free(iwork);
    return (int)info;
#else
    return (int)LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', m, n, a, lda, s, u, ldu, vt, ldvt);
#endif
}

#endif
