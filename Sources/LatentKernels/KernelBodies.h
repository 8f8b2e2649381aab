/*
 * The bodies of the kernels declared in include/LatentKernels.h, written once and included by
 * Dispatch.c once per instruction set. Before each inclusion Dispatch.c defines VARIANT(name), which
 * gives every function of that copy its own name, and sets the target of every function in it.
 *
 * Vector code uses GCC/Clang vector types of 8 lanes: the compiler maps them to one AVX-512 register,
 * two AVX registers or four SSE registers. Multiply-adds are written `a * b + c`; the file-wide
 * `fp contract(fast)` lets the compiler fuse them where the target has FMA instructions.
 */
#pragma clang fp contract(fast)

/// The exponential of eight lanes: `eˣ = 2ⁿ·eʳ` with `|r| ≤ ln2/2` and the degree-12 Taylor
/// polynomial of `eʳ` in Estrin's scheme; results below the smallest normal double flush to zero.
static inline __attribute__((always_inline)) f64x8 VARIANT(exp8)(f64x8 x) {
    const f64x8 low = splat8(-708.39), high = splat8(709.78);
    f64x8 c = x;
    c = select8(c < low, low, c);
    c = select8(c > high, high, c);
    // Round x·log2(e) to the nearest integer with the 1.5·2⁵² shifter.
    const f64x8 shifter = splat8(6755399441055744.0);
    f64x8 n = (c * 1.4426950408889634 + shifter) - shifter;
    f64x8 r = (c - n * 0.6931471803691238) - n * 1.9082149292705877e-10;
    f64x8 r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    f64x8 p01 = r * 1.0 + 1.0;
    f64x8 p23 = r * (1.0 / 6) + 1.0 / 2;
    f64x8 p45 = r * (1.0 / 120) + 1.0 / 24;
    f64x8 p67 = r * (1.0 / 5040) + 1.0 / 720;
    f64x8 p89 = r * (1.0 / 362880) + 1.0 / 40320;
    f64x8 p1011 = r * (1.0 / 39916800) + 1.0 / 3628800;
    f64x8 q0 = r2 * p23 + p01, q1 = r2 * p67 + p45, q2 = r2 * p1011 + p89;
    f64x8 q3 = splat8(1.0 / 479001600);
    f64x8 s0 = r4 * q1 + q0, s1 = r4 * q3 + q2;
    f64x8 p = r8 * s1 + s0;
    // n = 1024 happens just below the overflow threshold: use 2¹⁰²³ and double p.
    i64x8 top = n > 1023.0;
    n = select8(top, splat8(1023.0), n);
    p = select8(top, p + p, p);
    f64x8 biased = n + (1023.0 + 4503599627370496.0);
    f64x8 scale = (f64x8)(((i64x8)biased) << 52);
    f64x8 result = p * scale;
    result = select8(x < low, splat8(0.0), result);
    result = select8(x > high, splat8(__builtin_inf()), result);
    return select8(x != x, x, result);   // NaN in, NaN out
}

static void VARIANT(exp_f64)(double *values, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) store8(values + i, VARIANT(exp8)(load8(values + i)));
    if (i < n) {
        double tail[8] = {0};
        for (ptrdiff_t j = 0; j < n - i; j++) tail[j] = values[i + j];
        f64x8 e = VARIANT(exp8)(load8(tail));
        store8(tail, e);
        for (ptrdiff_t j = 0; j < n - i; j++) values[i + j] = tail[j];
    }
}

/// `2·atanh(u) = 2u·(1 + u²/3 + u⁴/5 + …)` of eight lanes with |u| ≤ 1/3, to u³⁷ (the next term is
/// below 1e-18 of the sum): the core of `log` and `log1p` below.
static inline __attribute__((always_inline)) f64x8 VARIANT(twice_atanh8)(f64x8 u) {
    const f64x8 u2 = u * u;
    f64x8 p = u2 * (1.0 / 37) + 1.0 / 35;
    for (int k = 33; k >= 1; k -= 2) p = u2 * p + 1.0 / k;   // unrolled by the compiler
    return 2.0 * u * p;
}

/// The natural logarithm of eight positive normal lanes: `x = 2ᵉ·m` with `m` in [√½, √2), and
/// `log m = 2·atanh(t)`, `t = (m − 1)/(m + 1)`, |t| ≤ 0.1716.
static inline __attribute__((always_inline)) f64x8 VARIANT(log8)(f64x8 x) {
    const i64x8 bits = (i64x8)x;
    i64x8 exponent = (bits >> 52) - 1023;
    f64x8 m = (f64x8)((bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL);
    const i64x8 high = m > 1.4142135623730951;
    m = select8(high, m * 0.5, m);
    exponent = exponent - high;   // a true comparison is −1
    const f64x8 e = __builtin_convertvector(exponent, f64x8);
    return e * 0.6931471803691238 + (VARIANT(twice_atanh8)((m - 1.0) / (m + 1.0)) + e * 1.9082149292705877e-10);
}

static inline __attribute__((always_inline)) f64x8 VARIANT(sqrt8)(f64x8 x) {
#if __has_builtin(__builtin_elementwise_sqrt)
    return __builtin_elementwise_sqrt(x);
#else
    for (int l = 0; l < 8; l++) x[l] = __builtin_sqrt(x[l]);
    return x;
#endif
}

static void VARIANT(polar_factors_f64)(double *values, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const f64x8 s = load8(values + i);
        store8(values + i, VARIANT(sqrt8)(-2.0 * VARIANT(log8)(s) / s));
    }
    if (i < n) {
        double tail[8] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
        for (ptrdiff_t j = 0; j < n - i; j++) tail[j] = values[i + j];
        const f64x8 s = load8(tail);
        store8(tail, VARIANT(sqrt8)(-2.0 * VARIANT(log8)(s) / s));
        for (ptrdiff_t j = 0; j < n - i; j++) values[i + j] = tail[j];
    }
}

/// `softplus(y) = max(y, 0) + log1p(e^{−|y|})` of eight lanes, with `log1p(e) = 2·atanh(e/(2 + e))`
/// and `e/(2 + e) ≤ 1/3`.
static inline __attribute__((always_inline)) f64x8 VARIANT(softplus8)(f64x8 y) {
    const i64x8 negative = y < 0.0;
    const f64x8 magnitude = select8(negative, -y, y);
    const f64x8 e = VARIANT(exp8)(-magnitude);
    return select8(negative, splat8(0.0), y) + VARIANT(twice_atanh8)(e / (2.0 + e));
}

static double VARIANT(softplus_difference_f64)(const float *x, ptrdiff_t n, double scale, double previous) {
    f64x8 total = splat8(0.0);
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        f64x8 v;
        for (int l = 0; l < 8; l++) v[l] = (double)x[i + l];
        total += VARIANT(softplus8)(v * scale) - VARIANT(softplus8)(v * previous);
    }
    if (i < n) {
        f64x8 v = splat8(0.0);
        for (ptrdiff_t l = 0; l < n - i; l++) v[l] = (double)x[i + l];
        const f64x8 d = VARIANT(softplus8)(v * scale) - VARIANT(softplus8)(v * previous);
        for (ptrdiff_t l = 0; l < n - i; l++) total[l] += d[l];
    }
    return sum8(total);
}

static void VARIANT(log_sum_exp_rows_f64)(double *values, ptrdiff_t rows, ptrdiff_t columns, double *out, int normalize) {
    if (rows <= 0 || columns <= 0) return;
    // Subtract each row's maximum (kept in out[i] until the sum is known), exponentiate the block, reduce.
    for (ptrdiff_t i = 0; i < rows; i++) {
        double *row = values + i * columns;
        double m = -__builtin_inf();
        for (ptrdiff_t j = 0; j < columns; j++) if (row[j] > m) m = row[j];
        if (!__builtin_isfinite(m) && !__builtin_isnan(m)) m = m > 0 ? m : 0;
        out[i] = m;
        for (ptrdiff_t j = 0; j < columns; j++) row[j] -= m;
    }
    VARIANT(exp_f64)(values, rows * columns);
    // Eight rows at a time: their sums, one vector logarithm (libm's scalar log was a tenth of a
    // small mixture's EM iteration), and the scalar log only for a sum that is 0, subnormal,
    // infinite or NaN, where the vector one does not apply.
    for (ptrdiff_t i0 = 0; i0 < rows; i0 += 8) {
        const ptrdiff_t block = rows - i0 < 8 ? rows - i0 : 8;
        double sums[8] = {1, 1, 1, 1, 1, 1, 1, 1};
        for (ptrdiff_t l = 0; l < block; l++) {
            const double *row = values + (i0 + l) * columns;
            double s = 0;
            for (ptrdiff_t j = 0; j < columns; j++) s += row[j];
            sums[l] = s;
        }
        double logs[8];
        store8(logs, VARIANT(log8)(load8(sums)));
        for (ptrdiff_t l = 0; l < block; l++) {
            const double s = sums[l];
            double *row = values + (i0 + l) * columns;
            out[i0 + l] += s >= __DBL_MIN__ && s <= __DBL_MAX__ ? logs[l] : __builtin_log(s);
            if (normalize) {
                if (s > 0) {
                    double inv = 1 / s;
                    for (ptrdiff_t j = 0; j < columns; j++) row[j] *= inv;
                } else {
                    for (ptrdiff_t j = 0; j < columns; j++) row[j] = 1.0 / (double)columns;
                }
            }
        }
    }
}

static double VARIANT(hmm_exponentiate_f64)(ptrdiff_t k, ptrdiff_t p, const double *logB, ptrdiff_t from, ptrdiff_t to,
                                            double *b) {
    double total = 0;
    for (ptrdiff_t t = from; t < to; t++) {
        const double *src = logB + t * k;
        double *dst = b + t * p;
        double m = -__builtin_inf();
        for (ptrdiff_t s = 0; s < k; s++) m = src[s] > m ? src[s] : m;
        if (!(m > -__builtin_inf() && m < __builtin_inf())) m = 0;
        total += m;
        for (ptrdiff_t s = 0; s < k; s++) dst[s] = src[s] - m;
        for (ptrdiff_t s = k; s < p; s++) dst[s] = -__builtin_inf();
    }
    VARIANT(exp_f64)(b + from * p, (to - from) * p);
    return total;
}

/// `Σⱼ (aⱼ − bⱼ)²` with eight partial sums.
static inline __attribute__((always_inline)) double VARIANT(squared_distance)(const double *a, const double *b, ptrdiff_t n) {
    f64x8 acc = splat8(0.0);
    ptrdiff_t j = 0;
    for (; j + 8 <= n; j += 8) {
        f64x8 t = load8(a + j) - load8(b + j);
        acc = t * t + acc;
    }
    double s = sum8(acc);
    for (; j < n; j++) { double t = a[j] - b[j]; s += t * t; }
    return s;
}

static void VARIANT(whitened_log_densities_f64)(const double *y, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t d,
                                                ptrdiff_t rowStride, ptrdiff_t componentStride,
                                                const double *projected, const double *constants, double *out) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        const double *row = y + i * rowStride;
        for (ptrdiff_t c = 0; c < k; c++) {
            double s = VARIANT(squared_distance)(row + c * componentStride, projected + c * d, d);
            out[i * k + c] = constants[c] - 0.5 * s;
        }
    }
}

static void VARIANT(small_full_log_densities_f64)(const double *x, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t d,
                                                  const double *shift, const double *factors, const double *projected,
                                                  const double *constants, double *out) {
    const ptrdiff_t kd = k * d;
    f64x8 columns[16];   // d ≤ 16: lane l of columns[a] holds column a of row i + l
    for (ptrdiff_t i = 0; i < rows; i += 8) {
        ptrdiff_t r = rows - i < 8 ? rows - i : 8;
        for (ptrdiff_t a = 0; a < d; a++) {
            double lanes[8] = {0};
            for (ptrdiff_t l = 0; l < r; l++) lanes[l] = x[(i + l) * d + a];
            columns[a] = load8(lanes) - shift[a];
        }
        for (ptrdiff_t c = 0; c < k; c++) {
            f64x8 s = splat8(0.0);
            for (ptrdiff_t j = 0; j < d; j++) {
                f64x8 e = splat8(-projected[c * d + j]);
                for (ptrdiff_t a = 0; a <= j; a++) e = columns[a] * factors[a * kd + c * d + j] + e;
                s = e * e + s;
            }
            double v[8];
            store8(v, constants[c] - 0.5 * s);
            for (ptrdiff_t l = 0; l < r; l++) out[(i + l) * k + c] = v[l];
        }
    }
}

static void VARIANT(weighted_deviations_f64)(const double *x, ptrdiff_t rows, ptrdiff_t d, const double *mean,
                                             const double *weights, ptrdiff_t weightStride, double *out) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        const double w = __builtin_sqrt(weights[i * weightStride]);
        const double *src = x + i * d;
        double *dst = out + i * d;
        for (ptrdiff_t j = 0; j < d; j++) dst[j] = w * (src[j] - mean[j]);
    }
}

/// The mixture M-step statistics of `rows` rows for a small dimension `d` (see the header): for each
/// block of 128 rows the features `[1, x − shift, (x_a − shift_a)(x_b − shift_b) for a ≤ b]` and the
/// responsibilities are laid out feature-major, one row per lane, and every statistic is a dot
/// product of two contiguous vectors, summed lane-wise in `totals` and reduced at the end.
static void VARIANT(small_dimension_statistics_f64)(const double *x, const double *r, ptrdiff_t rows, ptrdiff_t d,
                                                    ptrdiff_t k, const double *shift, double *stats, double *scratch) {
    enum { block = 128, stride = block + 8 };   // feature rows 136 doubles apart: no page-multiple aliasing
    const ptrdiff_t features = 1 + d + d * (d + 1) / 2;
    double *f = scratch, *w = f + features * stride, *totals = w + k * stride;
    for (ptrdiff_t t = 0; t < k * features * 8; t++) totals[t] = 0;
    for (ptrdiff_t start = 0; start < rows; start += block) {
        const ptrdiff_t b = rows - start < block ? rows - start : block;
        for (ptrdiff_t i = 0; i < b; i += 8) {
            // Lane l holds row start + i + l; lanes past the block have zero weight (and features −shift).
            const ptrdiff_t lanes = b - i < 8 ? b - i : 8, row = start + i;
            if (lanes == 8) {
                const double *rr = r + row * k, *xr = x + row * d;
                for (ptrdiff_t c = 0; c < k; c++) {
                    store8(w + c * stride + i, ((f64x8){rr[c], rr[k + c], rr[2 * k + c], rr[3 * k + c], rr[4 * k + c], rr[5 * k + c],
                                                        rr[6 * k + c], rr[7 * k + c]}));
                }
                for (ptrdiff_t a = 0; a < d; a++) {
                    store8(f + (1 + a) * stride + i, ((f64x8){xr[a], xr[d + a], xr[2 * d + a], xr[3 * d + a], xr[4 * d + a], xr[5 * d + a],
                                                              xr[6 * d + a], xr[7 * d + a]}) - shift[a]);
                }
            } else {
                for (ptrdiff_t c = 0; c < k; c++) {
                    for (ptrdiff_t l = 0; l < 8; l++) w[c * stride + i + l] = l < lanes ? r[(row + l) * k + c] : 0;
                }
                for (ptrdiff_t a = 0; a < d; a++) {
                    for (ptrdiff_t l = 0; l < 8; l++) f[(1 + a) * stride + i + l] = (l < lanes ? x[(row + l) * d + a] : 0) - shift[a];
                }
            }
            store8(f + i, splat8(1.0));
            ptrdiff_t q = 1 + d;
            for (ptrdiff_t a = 0; a < d; a++) {
                const f64x8 xa = load8(f + (1 + a) * stride + i);
                for (ptrdiff_t c = a; c < d; c++, q++) store8(f + q * stride + i, xa * load8(f + (1 + c) * stride + i));
            }
        }
        const ptrdiff_t padded = (b + 7) / 8 * 8;
        // Four features at a time: four independent sums share each load of the weights.
        for (ptrdiff_t c = 0; c < k; c++) {
            const double *wc = w + c * stride;
            ptrdiff_t q = 0;
            for (; q + 4 <= features; q += 4) {
                const double *f0 = f + q * stride;
                f64x8 s0 = splat8(0.0), s1 = splat8(0.0), s2 = splat8(0.0), s3 = splat8(0.0);
                for (ptrdiff_t i = 0; i < padded; i += 8) {
                    const f64x8 wv = load8(wc + i);
                    s0 = wv * load8(f0 + i) + s0;
                    s1 = wv * load8(f0 + stride + i) + s1;
                    s2 = wv * load8(f0 + 2 * stride + i) + s2;
                    s3 = wv * load8(f0 + 3 * stride + i) + s3;
                }
                double *total = totals + (c * features + q) * 8;
                store8(total, load8(total) + s0);
                store8(total + 8, load8(total + 8) + s1);
                store8(total + 16, load8(total + 16) + s2);
                store8(total + 24, load8(total + 24) + s3);
            }
            for (; q < features; q++) {
                const double *fq = f + q * stride;
                f64x8 s0 = splat8(0.0);
                for (ptrdiff_t i = 0; i < padded; i += 8) s0 = load8(wc + i) * load8(fq + i) + s0;
                double *total = totals + (c * features + q) * 8;
                store8(total, load8(total) + s0);
            }
        }
    }
    double *sums = stats + k, *second = stats + k + k * d;
    for (ptrdiff_t c = 0; c < k; c++) {
        const double *row = totals + c * features * 8;
        stats[c] += sum8(load8(row));
        for (ptrdiff_t j = 0; j < d; j++) sums[c * d + j] += sum8(load8(row + (1 + j) * 8));
        ptrdiff_t q = 1 + d;
        for (ptrdiff_t a = 0; a < d; a++) {
            for (ptrdiff_t col = a; col < d; col++, q++) second[c * d * d + a * d + col] += sum8(load8(row + q * 8));
        }
    }
}

/*
 * Single precision: FLANES lanes per vector, 16 where the registers are 512 bits wide, else 8.
 */
#define FLANES (NATIVE_BYTES >= 64 ? 16 : 8)
typedef float VARIANT(f32v) __attribute__((vector_size(FLANES * 4)));
typedef int VARIANT(i32v) __attribute__((vector_size(FLANES * 4)));
typedef double VARIANT(f64v) __attribute__((vector_size(FLANES * 8)));
#define F32V VARIANT(f32v)
#define I32V VARIANT(i32v)
#define fsplat(v) ((F32V){0} + (v))
#define fload(p) __extension__({ F32V v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define fstore(p, v) __extension__({ F32V v_ = (v); __builtin_memcpy((p), &v_, sizeof v_); })
#define fselect(mask, a, b) ((F32V)(((I32V)(mask) & (I32V)(a)) | (~(I32V)(mask) & (I32V)(b))))

/// The single-precision exponential (degree-6 polynomial after `2ⁿ` reduction, relative error about
/// 2e-7; 0 below −87.3).
static inline __attribute__((always_inline)) F32V VARIANT(expf_lanes)(F32V x) {
    const F32V low = fsplat(-87.3f), high = fsplat(88.7f);
    F32V c = x;
    c = fselect(c < low, low, c);
    c = fselect(c > high, high, c);
    const F32V shifter = fsplat(12582912.0f);   // 1.5·2²³
    F32V n = (c * 1.44269504f + shifter) - shifter;
    F32V r = (c - n * 0.693359375f) - n * -2.12194440e-4f;
    F32V p = r * (1.0f / 720) + 1.0f / 120;
    p = r * p + 1.0f / 24;
    p = r * p + 1.0f / 6;
    p = r * p + 0.5f;
    p = r * p + 1.0f;
    p = r * p + 1.0f;
    F32V biased = n + (127.0f + 8388608.0f);   // the low bits of n + 127 + 2²³ hold n + 127
    F32V scale = (F32V)(((I32V)biased) << 23);
    F32V result = p * scale;
    return fselect(x < low, fsplat(0.0f), result);
}

/// `Σ x·f − softplus(f)` without a gradient (scoring): `softplus(f) = max(f, 0) + log(1 + e^{−|f|})`,
/// and the logarithms of a lane's factors `1 + e^{−|f|} ∈ (1, 2]` are taken once for many elements —
/// the factors multiply in single precision for 8 vectors (at most 2⁸), then in double precision (at
/// most 2⁵¹² before its logarithm is folded in). The linear part sums in single precision for 8 vectors,
/// then in double. About half the operations of the series for every element.
static double VARIANT(bernoulli_score_f32)(const float *targets, const float *logits, ptrdiff_t n) {
    VARIANT(f64v) linear = (VARIANT(f64v)){0}, product = (VARIANT(f64v)){0} + 1.0;
    double logs = 0, total = 0;
    ptrdiff_t j = 0, chunks = 0;
    while (j + FLANES <= n) {
        F32V lin = fsplat(0.0f), prod = fsplat(1.0f);
        for (int k = 0; k < 8 && j + FLANES <= n; k++, j += FLANES) {
            F32V xv = fload(targets + j), fv = fload(logits + j);
            I32V negative = fv < 0.0f;
            F32V magnitude = fselect(negative, -fv, fv);
            F32V positive = fselect(negative, fsplat(0.0f), fv);
            lin += xv * fv - positive;
            prod *= 1.0f + VARIANT(expf_lanes)(-magnitude);
        }
        linear += __builtin_convertvector(lin, VARIANT(f64v));
        product *= __builtin_convertvector(prod, VARIANT(f64v));
        if (++chunks == 64) {   // ≤ 2^(8·64) per lane: fold its logarithm in before it can overflow
            for (int l = 0; l < FLANES; l++) logs += __builtin_log(product[l]);
            product = (VARIANT(f64v)){0} + 1.0;
            chunks = 0;
        }
    }
    for (; j < n; j++) {
        const float f = logits[j], magnitude = f < 0 ? -f : f;
        total += (double)targets[j] * f - (f > 0 ? f : 0) - __builtin_log1p(__builtin_exp(-(double)magnitude));
    }
    for (int l = 0; l < FLANES; l++) total += linear[l] - __builtin_log(product[l]);
    return total - logs;
}

static double VARIANT(bernoulli_f32)(const float *targets, const float *logits, ptrdiff_t n, float weight, float *gradient) {
    if (!gradient) return VARIANT(bernoulli_score_f32)(targets, logits, n);
    // Softplus and σ share e = e^{−|f|}: softplus(f) = max(f, 0) + log1p(e), with
    // log1p(e) = 2·atanh(e/(2+e)) as a series in s² ≤ 1/9; σ(f) = 1/(1+e) or e/(1+e).
    // Lane-wise double-precision partial sums, reduced once at the end.
    VARIANT(f64v) partial = (VARIANT(f64v)){0};
    double total = 0;
    for (ptrdiff_t j = 0; j < n; j += FLANES) {
        ptrdiff_t m = n - j < FLANES ? n - j : FLANES;
        F32V xv, fv;
        if (m == FLANES) {
            xv = fload(targets + j);
            fv = fload(logits + j);
        } else {
            float xs[FLANES] = {0}, fs[FLANES] = {0};
            for (ptrdiff_t t = 0; t < m; t++) { xs[t] = targets[j + t]; fs[t] = logits[j + t]; }
            xv = fload(xs);
            fv = fload(fs);
        }
        I32V negative = fv < 0.0f;
        F32V magnitude = fselect(negative, -fv, fv);
        F32V e = VARIANT(expf_lanes)(-magnitude);
        F32V s = e / (2.0f + e), s2 = s * s;
        F32V p = s2 * (1.0f / 15) + 1.0f / 13;
        p = s2 * p + 1.0f / 11;
        p = s2 * p + 1.0f / 9;
        p = s2 * p + 1.0f / 7;
        p = s2 * p + 1.0f / 5;
        p = s2 * p + 1.0f / 3;
        p = s2 * p + 1.0f;
        F32V positive = fselect(negative, fsplat(0.0f), fv);
        F32V term = xv * fv - (positive + 2.0f * s * p);
        if (m == FLANES) {
            partial += __builtin_convertvector(term, VARIANT(f64v));
        } else {
            for (ptrdiff_t t = 0; t < m; t++) total += (double)term[t];
        }
        if (gradient) {
            F32V inverse = 1.0f / (1.0f + e);
            F32V sigmoid = fselect(negative, e * inverse, inverse);
            F32V g = (xv - sigmoid) * weight;
            if (m == FLANES) {
                fstore(gradient + j, g);
            } else {
                for (ptrdiff_t t = 0; t < m; t++) gradient[j + t] = g[t];
            }
        }
    }
    double sum = 0;
    for (int l = 0; l < FLANES; l++) sum += partial[l];
    return sum + total;
}

static void VARIANT(sigmoid_f32)(float *values, ptrdiff_t n) {
    for (ptrdiff_t j = 0; j < n; j += FLANES) {
        ptrdiff_t m = n - j < FLANES ? n - j : FLANES;
        if (m == FLANES) {
            fstore(values + j, 1.0f / (1.0f + VARIANT(expf_lanes)(-fload(values + j))));
        } else {
            float xs[FLANES] = {0};
            for (ptrdiff_t t = 0; t < m; t++) xs[t] = values[j + t];
            F32V s = 1.0f / (1.0f + VARIANT(expf_lanes)(-fload(xs)));
            for (ptrdiff_t t = 0; t < m; t++) values[j + t] = s[t];
        }
    }
}

static void VARIANT(adam_f32)(float *p, const float *g, const float *g2, float *m, float *v, ptrdiff_t n,
                              const float *constants) {
    const float scale = constants[0], b1 = constants[1], b2 = constants[2], step = constants[3], epsilon = constants[4];
    ptrdiff_t i = 0;
    for (; i + FLANES <= n; i += FLANES) {
        F32V gi = (g2 ? fload(g + i) + fload(g2 + i) : fload(g + i)) * scale;
        F32V mi = fload(m + i) * b1 + (1.0f - b1) * gi;
        F32V vi = fload(v + i) * b2 + (1.0f - b2) * gi * gi;
#if __has_builtin(__builtin_elementwise_sqrt)
        F32V root = __builtin_elementwise_sqrt(vi);
#else
        F32V root;
        for (int l = 0; l < FLANES; l++) root[l] = __builtin_sqrtf(vi[l]);
#endif
        fstore(m + i, mi);
        fstore(v + i, vi);
        fstore(p + i, fload(p + i) + step * mi / (root + epsilon));
    }
    for (; i < n; i++) {
        const float gi = scale * (g2 ? g[i] + g2[i] : g[i]);
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        p[i] += step * m[i] / (__builtin_sqrtf(v[i]) + epsilon);
    }
}

#undef FLANES
#undef F32V
#undef I32V
#undef fsplat
#undef fload
#undef fstore
#undef fselect

#define SCALAR float
#define SNAME(name) VARIANT(PASTE(name, _f32))
#include "SparseBodies.h"
#undef SCALAR
#undef SNAME
#define SCALAR double
#define SNAME(name) VARIANT(PASTE(name, _f64))
#include "SparseBodies.h"
#undef SCALAR
#undef SNAME

#define LANES 4
#define CNAME(name) VARIANT(PASTE(name, _4))
#include "ChainBodies.h"
#undef LANES
#undef CNAME
#define LANES 8
#define CNAME(name) VARIANT(PASTE(name, _8))
#include "ChainBodies.h"
#undef LANES
#undef CNAME

/// The table Dispatch.c fills with this copy's functions.
static const latent_kernel_table VARIANT(table) = {
    VARIANT(exp_f64),
    VARIANT(polar_factors_f64),
    VARIANT(softplus_difference_f64),
    VARIANT(log_sum_exp_rows_f64),
    VARIANT(whitened_log_densities_f64),
    VARIANT(small_full_log_densities_f64),
    VARIANT(weighted_deviations_f64),
    VARIANT(small_dimension_statistics_f64),
    VARIANT(bernoulli_f32),
    VARIANT(sigmoid_f32),
    VARIANT(adam_f32),
    VARIANT(hmm_exponentiate_f64),
    VARIANT(sparse_multiply_f32),
    VARIANT(sparse_multiply_f64),
    VARIANT(sparse_transposed_multiply_f32),
    VARIANT(compress_rows_f32),
    VARIANT(compress_rows_f64),
    VARIANT(sparse_transposed_multiply_f64),
    VARIANT(zero_where_not_positive_f32),
    VARIANT(chunked_transposed_multiply_f32),
    VARIANT(chunked_transposed_multiply_f64),
    VARIANT(zero_where_not_positive_f64),
    {VARIANT(hmm_forward_4), VARIANT(hmm_forward_8)},
    {VARIANT(hmm_backward_4), VARIANT(hmm_backward_8)},
    {VARIANT(hmm_forward_backward_4), VARIANT(hmm_forward_backward_8)},
    {VARIANT(hmm_posteriors_4), VARIANT(hmm_posteriors_8)},
};
