// Compiles KernelBodies.h once per instruction set and selects a variant when the library loads
// (see include/LatentKernels.h).
#include "LatentKernels.h"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef double f64x8 __attribute__((vector_size(64)));
typedef long long i64x8 __attribute__((vector_size(64)));

#define PASTE2(a, b) a##b
#define PASTE(a, b) PASTE2(a, b)

// Helpers as macros, so that each variant's copy compiles them for its own target.
#define splat8(v) ((f64x8){0} + (v))
#define load8(p) __extension__({ f64x8 v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define store8(p, v) __extension__({ f64x8 v_ = (v); __builtin_memcpy((p), &v_, sizeof v_); })
/// Lanes of `a` where `mask` is set (all bits), of `b` elsewhere.
#define select8(mask, a, b) ((f64x8)(((i64x8)(mask) & (i64x8)(a)) | (~(i64x8)(mask) & (i64x8)(b))))
#define sum8(v) __extension__({ f64x8 s_ = (v); ((s_[0] + s_[4]) + (s_[2] + s_[6])) + ((s_[1] + s_[5]) + (s_[3] + s_[7])); })

// The small vector helpers of KernelBodies.h are always inlined, so their vector arguments never
// cross a call boundary between code built for different instruction sets.
#pragma clang diagnostic ignored "-Wpsabi"

#if defined(__x86_64__) && defined(__clang__)
#define LATENT_MULTIVERSION 1

#define VARIANT(name) PASTE(name, _avx512)
#define NATIVE_BYTES 64
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))), apply_to = function)
#include "KernelBodies.h"
#pragma clang attribute pop
#undef VARIANT
#undef NATIVE_BYTES

#define VARIANT(name) PASTE(name, _avx2)
#define NATIVE_BYTES 32
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "KernelBodies.h"
#pragma clang attribute pop
#undef VARIANT
#undef NATIVE_BYTES
#endif

#define VARIANT(name) PASTE(name, _baseline)
#if defined(__x86_64__) || defined(__aarch64__)
#define NATIVE_BYTES 16
#else
#define NATIVE_BYTES 8
#endif
#include "KernelBodies.h"
#undef VARIANT
#undef NATIVE_BYTES

latent_simd_level latent_simd_widest_supported(void) {
#if LATENT_MULTIVERSION
    __builtin_cpu_init();
    // The checks include the operating system's support for the wider registers (XCR0).
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return LATENT_SIMD_AVX512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return LATENT_SIMD_AVX2;
#endif
    return LATENT_SIMD_BASELINE;
}

const latent_kernel_table *latent_kernels(latent_simd_level level) {
    if ((int)level > (int)latent_simd_widest_supported()) return NULL;
    switch (level) {
#if LATENT_MULTIVERSION
    case LATENT_SIMD_AVX512: return &table_avx512;
    case LATENT_SIMD_AVX2: return &table_avx2;
#endif
    case LATENT_SIMD_BASELINE: return &table_baseline;
    default: return NULL;
    }
}

/// The level `LATENT_SIMD` asks for (the widest when unset); a value it does not know is reported on
/// standard error and ignored.
static latent_simd_level requested_level(void) {
    const char *value = getenv("LATENT_SIMD");
    if (value == NULL || *value == 0 || strcmp(value, "avx512") == 0) return LATENT_SIMD_AVX512;
    if (strcmp(value, "baseline") == 0) return LATENT_SIMD_BASELINE;
    if (strcmp(value, "avx2") == 0) return LATENT_SIMD_AVX2;
    fprintf(stderr, "latent: LATENT_SIMD=%s is not one of baseline, avx2, avx512; using the widest this CPU runs\n", value);
    return LATENT_SIMD_AVX512;
}

static _Atomic(const latent_kernel_table *) active = NULL;
static _Atomic(int) active_level = -1;

static const latent_kernel_table *select_kernels(void) {
    latent_simd_level widest = latent_simd_widest_supported(), requested = requested_level();
    latent_simd_level level = (int)requested < (int)widest ? requested : widest;
    const latent_kernel_table *table = latent_kernels(level);
    atomic_store_explicit(&active_level, (int)level, memory_order_relaxed);
    atomic_store_explicit(&active, table, memory_order_release);
    return table;
}

/// The selected table (chosen on first use; every thread that races here chooses the same one).
static inline const latent_kernel_table *kernels(void) {
    const latent_kernel_table *table = atomic_load_explicit(&active, memory_order_acquire);
    return table != NULL ? table : select_kernels();
}

latent_simd_level latent_simd_selected(void) {
    (void)kernels();
    return (latent_simd_level)atomic_load_explicit(&active_level, memory_order_relaxed);
}

void latent_exp_f64(double *values, ptrdiff_t n) { kernels()->exp_f64(values, n); }
void latent_polar_factors_f64(double *values, ptrdiff_t n) { kernels()->polar_factors_f64(values, n); }
double latent_softplus_difference_f64(const float *x, ptrdiff_t n, double scale, double previous) {
    return kernels()->softplus_difference_f64(x, n, scale, previous);
}

void latent_log_sum_exp_rows_f64(double *values, ptrdiff_t rows, ptrdiff_t columns, double *out, int normalize) {
    kernels()->log_sum_exp_rows_f64(values, rows, columns, out, normalize);
}

void latent_whitened_log_densities_f64(const double *y, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t d,
                                       ptrdiff_t rowStride, ptrdiff_t componentStride,
                                       const double *projected, const double *constants, double *out) {
    kernels()->whitened_log_densities_f64(y, rows, k, d, rowStride, componentStride, projected, constants, out);
}

void latent_small_full_log_densities_f64(const double *x, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t d,
                                         const double *shift, const double *factors, const double *projected,
                                         const double *constants, double *out) {
    kernels()->small_full_log_densities_f64(x, rows, k, d, shift, factors, projected, constants, out);
}

void latent_weighted_deviations_f64(const double *x, ptrdiff_t rows, ptrdiff_t d, const double *mean,
                                    const double *weights, ptrdiff_t weightStride, double *out) {
    kernels()->weighted_deviations_f64(x, rows, d, mean, weights, weightStride, out);
}

void latent_small_dimension_statistics_f64(const double *x, const double *r, ptrdiff_t rows, ptrdiff_t d, ptrdiff_t k,
                                           const double *shift, double *stats, double *scratch) {
    kernels()->small_dimension_statistics_f64(x, r, rows, d, k, shift, stats, scratch);
}

double latent_bernoulli_f32(const float *targets, const float *logits, ptrdiff_t n, float weight, float *gradient) {
    return kernels()->bernoulli_f32(targets, logits, n, weight, gradient);
}

void latent_sigmoid_f32(float *values, ptrdiff_t n) { kernels()->sigmoid_f32(values, n); }

void latent_adam_f32(float *p, const float *g, const float *g2, float *m, float *v, ptrdiff_t n, const float *constants) {
    kernels()->adam_f32(p, g, g2, m, v, n, constants);
}

void latent_sparse_multiply_f32(ptrdiff_t rows, const ptrdiff_t *starts, const int *indices, const float *values,
                                const float *w, ptrdiff_t n, float *y) {
    kernels()->sparse_multiply_f32(rows, starts, indices, values, w, n, y);
}

void latent_sparse_multiply_f64(ptrdiff_t rows, const ptrdiff_t *starts, const int *indices, const double *values,
                                const double *w, ptrdiff_t n, double *y) {
    kernels()->sparse_multiply_f64(rows, starts, indices, values, w, n, y);
}

ptrdiff_t latent_compress_rows_f32(const float *x, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t limit, ptrdiff_t *starts,
                                   int *indices, float *values) {
    return kernels()->compress_rows_f32(x, rows, columns, limit, starts, indices, values);
}

ptrdiff_t latent_compress_rows_f64(const double *x, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t limit, ptrdiff_t *starts,
                                   int *indices, double *values) {
    return kernels()->compress_rows_f64(x, rows, columns, limit, starts, indices, values);
}

void latent_sparse_transposed_multiply_f32(ptrdiff_t rows, ptrdiff_t columns, const ptrdiff_t *starts, const int *indices,
                                           const float *values, const float *g, ptrdiff_t n, float *dw,
                                           ptrdiff_t *columnEnds, int *entryRows, float *entryValues,
                                           float alpha, float beta) {
    kernels()->sparse_transposed_multiply_f32(rows, columns, starts, indices, values, g, n, dw, columnEnds, entryRows, entryValues,
                                              alpha, beta);
}

void latent_sparse_transposed_multiply_f64(ptrdiff_t rows, ptrdiff_t columns, const ptrdiff_t *starts, const int *indices,
                                           const double *values, const double *g, ptrdiff_t n, double *dw,
                                           ptrdiff_t *columnEnds, int *entryRows, double *entryValues,
                                           double alpha, double beta) {
    kernels()->sparse_transposed_multiply_f64(rows, columns, starts, indices, values, g, n, dw, columnEnds, entryRows, entryValues,
                                              alpha, beta);
}

ptrdiff_t latent_chunked_transposed_multiply_f32(ptrdiff_t columns, ptrdiff_t n, ptrdiff_t rowsX, const float *x,
                                                 const float *g, ptrdiff_t rowsY, const float *y, const float *k,
                                                 float sign, float *dw, float alpha, float beta, ptrdiff_t limit,
                                                 ptrdiff_t *starts, ptrdiff_t *ends, const float **sources,
                                                 float *values) {
    return kernels()->chunked_transposed_multiply_f32(columns, n, rowsX, x, g, rowsY, y, k, sign, dw, alpha, beta, limit,
                                                      starts, ends, sources, values);
}

ptrdiff_t latent_chunked_transposed_multiply_f64(ptrdiff_t columns, ptrdiff_t n, ptrdiff_t rowsX, const double *x,
                                                 const double *g, ptrdiff_t rowsY, const double *y, const double *k,
                                                 double sign, double *dw, double alpha, double beta, ptrdiff_t limit,
                                                 ptrdiff_t *starts, ptrdiff_t *ends, const double **sources,
                                                 double *values) {
    return kernels()->chunked_transposed_multiply_f64(columns, n, rowsX, x, g, rowsY, y, k, sign, dw, alpha, beta, limit,
                                                      starts, ends, sources, values);
}

void latent_zero_where_not_positive_f32(float *x, const float *reference, ptrdiff_t n, int strictly) {
    kernels()->zero_where_not_positive_f32(x, reference, n, strictly);
}

void latent_zero_where_not_positive_f64(double *x, const double *reference, ptrdiff_t n, int strictly) {
    kernels()->zero_where_not_positive_f64(x, reference, n, strictly);
}

double latent_hmm_exponentiate_f64(ptrdiff_t k, ptrdiff_t p, const double *logB, ptrdiff_t from, ptrdiff_t to, double *b) {
    return kernels()->hmm_exponentiate_f64(k, p, logB, from, to, b);
}

/// Index of a recursion kernel for `lanes` (4 or 8).
static inline int lane_index(ptrdiff_t lanes) { return lanes == 4 ? 0 : 1; }

void latent_hmm_forward_f64(ptrdiff_t lanes, const double *rows, const double *b, ptrdiff_t steps, double *alpha,
                            double *scale) {
    kernels()->hmm_forward[lane_index(lanes)](rows, b, steps, alpha, scale);
}

void latent_hmm_backward_f64(ptrdiff_t lanes, const double *columns, const double *b, ptrdiff_t steps, double *beta,
                             double *scale) {
    kernels()->hmm_backward[lane_index(lanes)](columns, b, steps, beta, scale);
}

void latent_hmm_forward_backward_f64(ptrdiff_t lanes, const double *rows, const double *columns, const double *b,
                                     ptrdiff_t steps, double *alpha, double *beta, double *forwardScale,
                                     double *backwardScale) {
    kernels()->hmm_forward_backward[lane_index(lanes)](rows, columns, b, steps, alpha, beta, forwardScale, backwardScale);
}

void latent_hmm_posteriors_f64(ptrdiff_t lanes, ptrdiff_t k, ptrdiff_t from, ptrdiff_t to, ptrdiff_t steps,
                               const double *alpha, const double *beta, const double *b, const double *backwardScale,
                               double *gamma, double *sums) {
    kernels()->hmm_posteriors[lane_index(lanes)](k, from, to, steps, alpha, beta, b, backwardScale, gamma, sums);
}
