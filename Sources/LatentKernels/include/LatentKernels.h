#ifndef LATENT_KERNELS_H
#define LATENT_KERNELS_H
/*
 * Latent's hot loops, compiled once per instruction set and chosen when the library loads.
 *
 * A package that others depend on cannot set `-target-cpu`, so Swift code built as a dependency is
 * baseline x86-64 (SSE2, no fused multiply-add). The loops below are written once, with GCC/Clang
 * vector types, and compiled three times on x86-64 (baseline, AVX2 + FMA, AVX-512); the widest
 * variant the CPU and operating system support is selected at load time. Other architectures get one
 * variant built for the compiler's default target (NEON with fused multiply-add on arm64).
 *
 * `LATENT_SIMD=baseline|avx2|avx512` in the environment caps the selection (for tests and
 * comparisons); a level the CPU lacks is never selected, and another value is named on standard error and ignored.
 *
 * Every array is contiguous and row-major; no function allocates or keeps a pointer.
 */
#include <stddef.h>
#include <stdint.h>

/// The instruction sets a kernel variant can be built for, narrowest first.
typedef enum {
    LATENT_SIMD_BASELINE = 0,
    LATENT_SIMD_AVX2 = 1,
    LATENT_SIMD_AVX512 = 2,
} latent_simd_level;

/// The variant in use: the widest this CPU supports, capped by `LATENT_SIMD` when it is set.
latent_simd_level latent_simd_selected(void);
/// The widest variant this CPU (and operating system) can run, whatever `LATENT_SIMD` says.
latent_simd_level latent_simd_widest_supported(void);

/// One variant's kernels (see the functions below for what each does).
typedef struct {
    void (*exp_f64)(double *, ptrdiff_t);
    void (*polar_factors_f64)(double *, ptrdiff_t);
    double (*softplus_difference_f64)(const float *, ptrdiff_t, double, double);
    void (*log_sum_exp_rows_f64)(double *, ptrdiff_t, ptrdiff_t, double *, int);
    void (*whitened_log_densities_f64)(const double *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t,
                                       const double *, const double *, double *);
    void (*small_full_log_densities_f64)(const double *, ptrdiff_t, ptrdiff_t, ptrdiff_t, const double *,
                                         const double *, const double *, const double *, double *);
    void (*weighted_deviations_f64)(const double *, ptrdiff_t, ptrdiff_t, const double *, const double *, ptrdiff_t,
                                    double *);
    void (*small_dimension_statistics_f64)(const double *, const double *, ptrdiff_t, ptrdiff_t, ptrdiff_t, const double *,
                                           double *, double *);
    double (*bernoulli_f32)(const float *, const float *, ptrdiff_t, float, float *);
    void (*sigmoid_f32)(float *, ptrdiff_t);
    void (*adam_f32)(float *, const float *, const float *, float *, float *, ptrdiff_t, const float *);
    double (*hmm_exponentiate_f64)(ptrdiff_t, ptrdiff_t, const double *, ptrdiff_t, ptrdiff_t, double *);
    void (*sparse_multiply_f32)(ptrdiff_t, const ptrdiff_t *, const int *, const float *, const float *, ptrdiff_t, float *);
    void (*sparse_multiply_f64)(ptrdiff_t, const ptrdiff_t *, const int *, const double *, const double *, ptrdiff_t,
                                double *);
    void (*sparse_transposed_multiply_f32)(ptrdiff_t, ptrdiff_t, const ptrdiff_t *, const int *, const float *,
                                           const float *, ptrdiff_t, float *, ptrdiff_t *, int *, float *,
                                           float, float);
    ptrdiff_t (*compress_rows_f32)(const float *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t *, int *, float *);
    ptrdiff_t (*compress_rows_f64)(const double *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t *, int *, double *);
    void (*sparse_transposed_multiply_f64)(ptrdiff_t, ptrdiff_t, const ptrdiff_t *, const int *, const double *,
                                           const double *, ptrdiff_t, double *, ptrdiff_t *, int *, double *,
                                           double, double);
    void (*zero_where_not_positive_f32)(float *, const float *, ptrdiff_t, int);
    ptrdiff_t (*chunked_transposed_multiply_f32)(ptrdiff_t, ptrdiff_t, ptrdiff_t, const float *, const float *, ptrdiff_t,
                                                 const float *, const float *, float, float *, float, float, ptrdiff_t,
                                                 ptrdiff_t *, ptrdiff_t *, const float **, float *);
    ptrdiff_t (*chunked_transposed_multiply_f64)(ptrdiff_t, ptrdiff_t, ptrdiff_t, const double *, const double *, ptrdiff_t,
                                                 const double *, const double *, double, double *, double, double, ptrdiff_t,
                                                 ptrdiff_t *, ptrdiff_t *, const double **, double *);
    void (*zero_where_not_positive_f64)(double *, const double *, ptrdiff_t, int);
    // Index 0: four lanes, 1: eight.
    void (*hmm_forward[2])(const double *, const double *, ptrdiff_t, double *, double *);
    void (*hmm_backward[2])(const double *, const double *, ptrdiff_t, double *, double *);
    void (*hmm_forward_backward[2])(const double *, const double *, const double *, ptrdiff_t, double *, double *, double *,
                                    double *);
    void (*hmm_posteriors[2])(ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, const double *, const double *, const double *,
                              const double *, double *, double *);
} latent_kernel_table;

/// The kernels of one variant, or NULL when this CPU cannot run it (for tests that compare variants).
const latent_kernel_table *latent_kernels(latent_simd_level level);

/// Replaces each of the `n` values by its exponential (relative error below 2e-15; 0 below −708.39,
/// +∞ above 709.78, NaN stays NaN).
void latent_exp_f64(double *values, ptrdiff_t n);
/// Replaces each `s` in (0, 1) by `√(−2·log(s)/s)`, the factor of Marsaglia's polar method that turns an
/// accepted point (u, v) with s = u² + v² into two standard normal draws (u·f, v·f). Within a few
/// units in the last place of the libm result.
void latent_polar_factors_f64(double *values, ptrdiff_t n);
/// `Σᵢ softplus(scale·xᵢ) − softplus(previous·xᵢ)` in double precision, `softplus(y) = log(1 + eʸ)`
/// (each term within a few units in the last place of libm's `log1p(exp(·))` form).
double latent_softplus_difference_f64(const float *x, ptrdiff_t n, double scale, double previous);

/// For each row of the `rows × columns` matrix: `out[i] = log Σⱼ exp(values[i, j])` and, if
/// `normalize` is non-zero, the row replaced by its softmax (a row of −∞ gives −∞ and a uniform row).
void latent_log_sum_exp_rows_f64(double *values, ptrdiff_t rows, ptrdiff_t columns, double *out, int normalize);

/// Weighted Gaussian log-densities from whitened rows: for `i < rows`, `c < k`,
/// `out[i·k + c] = constants[c] − ½ ‖y[i·rowStride + c·componentStride + 0..<d] − projected[c·d + 0..<d]‖²`.
/// Full covariances: `rowStride = k·d`, `componentStride = d`; a tied one: `rowStride = d`, `componentStride = 0`.
void latent_whitened_log_densities_f64(const double *y, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t d,
                                       ptrdiff_t rowStride, ptrdiff_t componentStride,
                                       const double *projected, const double *constants, double *out);

/// Full-covariance log-densities for small `d`, straight from raw rows `x` (`rows × d`):
/// `out[i·k + c] = constants[c] − ½ ‖(x_i − shift)·P_c − projected_c‖²`, where `P_c` is the upper
/// triangular `d × d` block `factors[a·k·d + c·d + b]` (row `a`, column `b`).
void latent_small_full_log_densities_f64(const double *x, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t d,
                                         const double *shift, const double *factors, const double *projected,
                                         const double *constants, double *out);

/// `out[i·d + j] = √weights[i·weightStride] · (x[i·d + j] − mean[j])` for `i < rows`, `j < d`.
void latent_weighted_deviations_f64(const double *x, ptrdiff_t rows, ptrdiff_t d, const double *mean,
                                    const double *weights, ptrdiff_t weightStride, double *out);

/// Adds the M-step statistics of `rows` rows to `stats`: `stats[c] += Σᵢ rᵢ꜀`, then `K × d` sums
/// `Σᵢ rᵢ꜀ (xᵢ − shift)`, then `K` row-major `d × d` blocks whose upper triangles (`a ≤ b`) get
/// `Σᵢ rᵢ꜀ (xᵢₐ − shiftₐ)(xᵢ_b − shift_b)` (the lower triangles are not written), for row-major `x`
/// (`rows × d`) and responsibilities `r` (`rows × K`). For small `d` (it holds `1 + d + d(d+1)/2`
/// features per row): a dot product per statistic over blocks of 128 rows. `scratch` holds
/// `(features + K)·136 + 8·K·features` doubles.
void latent_small_dimension_statistics_f64(const double *x, const double *r, ptrdiff_t rows, ptrdiff_t d, ptrdiff_t k,
                                           const double *shift, double *stats, double *scratch);

/// Bernoulli log-likelihood of single-precision logits: returns `Σ x·f − softplus(f)` and, if `gradient`
/// is not null, writes `weight·(x − σ(f))` into it. With a gradient the terms are summed lane-wise in
/// double precision; without one (scoring) the `log(1 + e^{−|f|})` terms are summed as the logarithm
/// of their product, a float product of 8 vectors' factors at a time, multiplied on in double
/// precision and logged every 512 factors per lane (error typically 1e-6, at most about 1e-4, per
/// 784 terms).
double latent_bernoulli_f32(const float *targets, const float *logits, ptrdiff_t n, float weight, float *gradient);

/// Replaces each of the `n` values by its logistic sigmoid `1 / (1 + e^{−x})` (single precision).
void latent_sigmoid_f32(float *values, ptrdiff_t n);

/// Adam's elementwise step over `n` single-precision parameters `p` with gradients `g` (plus `g2` when
/// not null: two halves of a batch, added first) and moments `m`, `v` (updated in place).
/// `constants` = {scale, β₁, β₂, step, ε}: with `ĝ = scale·(g + g2)`,
/// `m ← β₁m + (1−β₁)ĝ`, `v ← β₂v + (1−β₂)ĝ²`, `p ← p + step·m / (√v + ε)` (step carries the sign,
/// the learning rate and the bias corrections).
void latent_adam_f32(float *p, const float *g, const float *g2, float *m, float *v, ptrdiff_t n, const float *constants);

/// `y += X·W` for a sparse `rows × ·` batch `X` (row `i`'s nonzeros are entries `starts[i] ..< starts[i + 1]`
/// of `indices` (columns) and `values`), a row-major `· × n` matrix `W` and a row-major `rows × n` `y`.
/// Each output adds its terms in the order of the nonzeros.
void latent_sparse_multiply_f32(ptrdiff_t rows, const ptrdiff_t *starts, const int *indices, const float *values,
                                const float *w, ptrdiff_t n, float *y);
void latent_sparse_multiply_f64(ptrdiff_t rows, const ptrdiff_t *starts, const int *indices, const double *values,
                                const double *w, ptrdiff_t n, double *y);

/// The nonzeros of the row-major `rows × columns` matrix `x` in compressed-sparse-row form (row `i`'s
/// entries are `starts[i] ..< starts[i + 1]` of `indices` and `values`, `starts` has `rows + 1` entries),
/// in row-major order. Returns their number, or −1 (the outputs then partly written) when there are
/// more than `limit`, the capacity of `indices` and `values`.
ptrdiff_t latent_compress_rows_f32(const float *x, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t limit, ptrdiff_t *starts,
                                   int *indices, float *values);
ptrdiff_t latent_compress_rows_f64(const double *x, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t limit, ptrdiff_t *starts,
                                   int *indices, double *values);

/// `dW = α·Xᵀ·G + β·dW` (the row-major `columns × n` `dW`, not read when `β = 0`) for the same
/// sparse `X` and a row-major `rows × n` `G`. The last three arrays are the caller's scratch for the entries sorted by column:
/// `columns + 1` column ends, and `starts[rows]` rows and values.
void latent_sparse_transposed_multiply_f32(ptrdiff_t rows, ptrdiff_t columns, const ptrdiff_t *starts, const int *indices,
                                           const float *values, const float *g, ptrdiff_t n, float *dw,
                                           ptrdiff_t *columnEnds, int *entryRows, float *entryValues,
                                           float alpha, float beta);
void latent_sparse_transposed_multiply_f64(ptrdiff_t rows, ptrdiff_t columns, const ptrdiff_t *starts, const int *indices,
                                           const double *values, const double *g, ptrdiff_t n, double *dw,
                                           ptrdiff_t *columnEnds, int *entryRows, double *entryValues,
                                           double alpha, double beta);

/// `dW = α·(XᵀG + s·YᵀK) + β·dW` (the row-major `columns × n` `dW`, not read when `β = 0`) for dense
/// row-major `X` (`rowsX × columns`), `G` (`rowsX × n`), `Y` (`rowsY × columns`) and `K` (`rowsY × n`;
/// `rowsY` may be 0), skipping each row's all-zero chunks of four consecutive columns: fast when the
/// zeros come in runs along the rows (binary images), where it loads each row of `G` once for four
/// rows of `dW`. Each element adds its terms in row order (`X`'s, then `Y`'s), exact zeros inside a
/// nonzero chunk included. Returns −1 with `dW` untouched when more than `limit` chunks hold a nonzero,
/// else 0. Scratch: `chunks + 1` `starts` and `ends`, `limit + chunks` `sources` and four times as many
/// `values`, chunks = ⌈columns / 4⌉. O(rows·columns) to list the chunks, O(4·listed chunks·n) multiply-adds.
ptrdiff_t latent_chunked_transposed_multiply_f32(ptrdiff_t columns, ptrdiff_t n, ptrdiff_t rowsX, const float *x,
                                                 const float *g, ptrdiff_t rowsY, const float *y, const float *k,
                                                 float sign, float *dw, float alpha, float beta, ptrdiff_t limit,
                                                 ptrdiff_t *starts, ptrdiff_t *ends, const float **sources,
                                                 float *values);
ptrdiff_t latent_chunked_transposed_multiply_f64(ptrdiff_t columns, ptrdiff_t n, ptrdiff_t rowsX, const double *x,
                                                 const double *g, ptrdiff_t rowsY, const double *y, const double *k,
                                                 double sign, double *dw, double alpha, double beta, ptrdiff_t limit,
                                                 ptrdiff_t *starts, ptrdiff_t *ends, const double **sources,
                                                 double *values);

/// `x[i] = 0` wherever `reference[i] < 0` (`strictly` non-zero) or `reference[i] ≤ 0`, for `i < n` (the
/// ReLU with `reference == x`, and its backward pass with `reference` the ReLU's output). `reference`
/// is `x` itself or does not overlap it.
void latent_zero_where_not_positive_f32(float *x, const float *reference, ptrdiff_t n, int strictly);
void latent_zero_where_not_positive_f64(double *x, const double *reference, ptrdiff_t n, int strictly);

/*
 * Hidden Markov model recursions for K ≤ lanes states (lanes = 4 or 8), every per-step vector
 * padded to `lanes` doubles with zero emissions. `rows` and `columns` are the padded transition
 * matrix A and its transpose (`lanes × lanes`, zeros past K); `b` (`steps × lanes`) holds the scaled
 * emission likelihoods. A step's vector is divided by its sum only when the sum leaves [2⁻⁶⁴, 2⁶⁴];
 * the divisor (1 if none) goes to the step's entry of the scale array. O(steps · lanes²) each.
 */

/// Scaled emission likelihoods for steps `from ..< to`: `b[t·p + s] = exp(logB[t·k + s] − m_t)` for `s < k`
/// and 0 for `k ≤ s < p`, where `m_t` is the step's largest entry (0 when that is not finite); returns Σ m_t.
double latent_hmm_exponentiate_f64(ptrdiff_t k, ptrdiff_t p, const double *logB, ptrdiff_t from, ptrdiff_t to, double *b);
/// The forward recursion α̂_t ∝ (α̂_{t−1}A) ⊙ b_t for t = 1 ..< steps, from α̂_0 in `alpha[0 ..< lanes]`.
void latent_hmm_forward_f64(ptrdiff_t lanes, const double *rows, const double *b, ptrdiff_t steps, double *alpha,
                            double *scale);
/// The backward recursion β̃_t ∝ A(b_{t+1} ⊙ β̃_{t+1}) for t = steps − 2 down to 0, from β̃ at steps − 1.
void latent_hmm_backward_f64(ptrdiff_t lanes, const double *columns, const double *b, ptrdiff_t steps, double *beta,
                             double *scale);
/// Both recursions in one loop on one core (step t of one overlaps step T−1−t of the other).
void latent_hmm_forward_backward_f64(ptrdiff_t lanes, const double *rows, const double *columns, const double *b,
                                     ptrdiff_t steps, double *alpha, double *beta, double *forwardScale,
                                     double *backwardScale);
/// For t in from ..< to: γ_t = α̂_t ⊙ β̃_t / (α̂_t · β̃_t) into `gamma` (`k` per step; zeros where the
/// overlap is 0 or not finite) when not null, and, when `sums` (`k × lanes`) is not null,
/// sums[i, j] = Σ_t α̂_t(i) b_{t+1}(j) β̃_{t+1}(j) / (backwardScale[t] · α̂_t · β̃_t).
void latent_hmm_posteriors_f64(ptrdiff_t lanes, ptrdiff_t k, ptrdiff_t from, ptrdiff_t to, ptrdiff_t steps,
                               const double *alpha, const double *beta, const double *b, const double *backwardScale,
                               double *gamma, double *sums);

/*
 * A single-precision matrix product with bfloat16 operands (BFloat16Product.c): both factors are
 * rounded to bfloat16 (8 significant bits, round to nearest even) and the products summed in single
 * precision by the AVX-512 BF16 dot-product instruction, at twice the multiply-add rate of SGEMM on
 * CPUs that have it. The right factor (a layer's weights) is packed once and used for many products.
 */

/// Non-zero when this CPU and operating system run `latent_bf16_product` (AVX-512 F, BW, VL, DQ and
/// BF16); `LATENT_SIMD` is not consulted here.
int latent_bf16_supported(void);
/// The number of `uint16_t` that the packed form of a `k × n` right factor takes.
ptrdiff_t latent_bf16_packed_count(ptrdiff_t k, ptrdiff_t n);
/// Packs the row-major `k × n` matrix `b` (row stride `ldb`) into `packed` (`latent_bf16_packed_count`
/// values), rounding each entry to bfloat16. Portable: needs no particular CPU.
void latent_bf16_pack(const float *b, ptrdiff_t ldb, ptrdiff_t k, ptrdiff_t n, uint16_t *packed);
/// `value` rounded to bfloat16 (to nearest, ties to even), as a float: the rounding the product applies.
float latent_bf16_round(float value);
/// `C = A·B + bias` for the row-major `m × k` `A` (row stride `lda`), the packed `k × n` `B` and the
/// row-major `m × n` `C` (row stride `ldc`); `bias` (`n` values, added unrounded) may be null. Only
/// where `latent_bf16_supported()`. Allocates one buffer of 128·⌈k/2⌉·4 bytes. O(m·n·k).
void latent_bf16_product(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const uint16_t *packed,
                         const float *bias, float *c, ptrdiff_t ldc);

/*
 * Single-precision products with a right factor packed once (SinglePrecisionProduct.c): the same
 * use as the bfloat16 product (many products with one layer's weights), in full single precision,
 * on the AVX-512 units. BLAS packs both factors on every call; here the weights are packed once,
 * and the left factor is read where it lies.
 */

/// Non-zero when this CPU and operating system run `latent_f32_packed_product` (AVX-512 F, BW, VL
/// and DQ). `LATENT_SIMD` is not consulted here: a caller that honours a cap below AVX-512 (the
/// Swift `PackedFloatMatrix.isSupported` does) uses BLAS instead.
int latent_f32_packed_supported(void);
/// The number of floats that the packed form of a `k × n` right factor takes (panels of 16 columns).
ptrdiff_t latent_f32_packed_count(ptrdiff_t k, ptrdiff_t n);
/// Packs the row-major `k × n` matrix `b` (row stride `ldb`) into `packed` (`latent_f32_packed_count`
/// values). Portable: needs no particular CPU.
void latent_f32_pack(const float *b, ptrdiff_t ldb, ptrdiff_t k, ptrdiff_t n, float *packed);
/// `C = A·B + bias` for the row-major `m × k` `A` (row stride `lda`), the packed `k × n` `B` and the
/// row-major `m × n` `C` (row stride `ldc`; its columns beyond `n` are not written); `bias` (`n`
/// values) may be null. Single-precision sums: each output is its first 200 products plus the bias,
/// then each further 200's sum added. Only where `latent_f32_packed_supported()`. Allocates nothing.
/// O(m·n·k).
void latent_f32_packed_product(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *packed,
                               const float *bias, float *c, ptrdiff_t ldc);

#endif
