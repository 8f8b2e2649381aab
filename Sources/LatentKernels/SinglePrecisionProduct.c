// A single-precision matrix product `C = A·B + bias` whose right operand B (k × n, fixed for many
// products: a layer's weights) is packed once, for the AVX-512 units (see include/LatentKernels.h:
// latent_f32_*).
//
// Why: a decoder scored with many importance samples multiplies a few hundred rows at a time by
// the same weights, thousands of times. A BLAS SGEMM call packs both operands on every call; here B
// is packed once into panels of 16 columns (panel p holds rows 0 ..< k of columns 16p ..< 16p + 16,
// contiguous), and A is read where it lies. The micro-kernel keeps a 12-row × 32-column tile of C
// in 24 registers and, for each step along k, loads the row of a pair of panels and broadcasts one
// value of each row of A. n is walked in pairs of panels (one at the edge), k in chunks whose piece
// of the panel pair stays in the first-level cache while all the rows of a block of A stream past it.
#include "LatentKernels.h"
#include <stdlib.h>

ptrdiff_t latent_f32_packed_count(ptrdiff_t k, ptrdiff_t n) { return k * 16 * ((n + 15) / 16); }

void latent_f32_pack(const float *b, ptrdiff_t ldb, ptrdiff_t k, ptrdiff_t n, float *packed) {
    ptrdiff_t panels = (n + 15) / 16;
    for (ptrdiff_t p = 0; p < panels; p++) {
        float *panel = packed + p * k * 16;
        for (ptrdiff_t q = 0; q < k; q++) {
            for (ptrdiff_t lane = 0; lane < 16; lane++) {
                ptrdiff_t j = p * 16 + lane;
                panel[q * 16 + lane] = j < n ? b[q * ldb + j] : 0;
            }
        }
    }
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

// Rows of A per block and steps of k per chunk: a block's rows are walked once per chunk of each
// pair of panels, so that chunk of B (25.6 KB) stays in the first-level cache or close to it while
// the rows of A stream past.
enum { BLOCK_ROWS = 256, CHUNK = 200 };

int latent_f32_packed_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#define AVX512_TARGET __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))

/// AVX-512: the `rows` (≤ 12) × 16·panels (one or two panels; masks `m0`, `m1` select the valid
/// columns of each) tile of C at `c` gets A-rows × the panels over k0 ..< k1, stored (plus the bias)
/// when `first`, else added to C. The accumulators are named variables (not an array), so that the
/// compiler keeps every one in a register.
AVX512_TARGET __attribute__((always_inline)) static inline void
tile_avx512(const float *a, ptrdiff_t lda, ptrdiff_t rows, ptrdiff_t k0, ptrdiff_t k1, const float *p0, const float *p1,
            int panels, float *c, ptrdiff_t ldc, __mmask16 m0, __mmask16 m1, int first, const float *bias) {
#define AVX512_DECLARE(i) const float *r##i = a + (rows > i) * i * lda; __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = c##i##0;
    AVX512_DECLARE(0) AVX512_DECLARE(1) AVX512_DECLARE(2) AVX512_DECLARE(3) AVX512_DECLARE(4) AVX512_DECLARE(5)
    AVX512_DECLARE(6) AVX512_DECLARE(7) AVX512_DECLARE(8) AVX512_DECLARE(9) AVX512_DECLARE(10) AVX512_DECLARE(11)
#undef AVX512_DECLARE
#define AVX512_ROW(i) x = _mm512_set1_ps(r##i[q]); c##i##0 = _mm512_fmadd_ps(x, b0, c##i##0); \
                      if (panels == 2) c##i##1 = _mm512_fmadd_ps(x, b1, c##i##1);
    for (ptrdiff_t q = k0; q < k1; q++) {
        __m512 b0 = _mm512_loadu_ps(p0 + q * 16), b1 = panels == 2 ? _mm512_loadu_ps(p1 + q * 16) : b0, x;
        AVX512_ROW(0) AVX512_ROW(1) AVX512_ROW(2) AVX512_ROW(3) AVX512_ROW(4) AVX512_ROW(5)
        AVX512_ROW(6) AVX512_ROW(7) AVX512_ROW(8) AVX512_ROW(9) AVX512_ROW(10) AVX512_ROW(11)
    }
#undef AVX512_ROW
    __m512 y0 = _mm512_setzero_ps(), y1 = y0;
    if (first && bias) {
        y0 = _mm512_maskz_loadu_ps(m0, bias);
        if (panels == 2) y1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
#define AVX512_STORE(i) if (i < rows) { \
        float *ci = c + i * ldc; \
        _mm512_mask_storeu_ps(ci, m0, _mm512_add_ps(c##i##0, first ? y0 : _mm512_maskz_loadu_ps(m0, ci))); \
        if (panels == 2) _mm512_mask_storeu_ps(ci + 16, m1, _mm512_add_ps(c##i##1, first ? y1 : _mm512_maskz_loadu_ps(m1, ci + 16))); }
    AVX512_STORE(0) AVX512_STORE(1) AVX512_STORE(2) AVX512_STORE(3) AVX512_STORE(4) AVX512_STORE(5)
    AVX512_STORE(6) AVX512_STORE(7) AVX512_STORE(8) AVX512_STORE(9) AVX512_STORE(10) AVX512_STORE(11)
#undef AVX512_STORE
}

static __mmask16 lanes(ptrdiff_t count) {
    return count >= 16 ? (__mmask16)0xffff : count <= 0 ? 0 : (__mmask16)((1u << count) - 1u);
}

AVX512_TARGET static void product_avx512(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                                         const float *packed, const float *bias, float *c, ptrdiff_t ldc) {
    ptrdiff_t panels = (n + 15) / 16;
    for (ptrdiff_t b0 = 0; b0 < m; b0 += BLOCK_ROWS) {
        ptrdiff_t blockRows = m - b0 < BLOCK_ROWS ? m - b0 : BLOCK_ROWS;
        for (ptrdiff_t p = 0; p < panels; p += 2) {
            const float *p0 = packed + p * k * 16;
            const float *bp = bias ? bias + p * 16 : NULL;
            for (ptrdiff_t k0 = 0; k0 < k; k0 += CHUNK) {
                ptrdiff_t k1 = k0 + CHUNK < k ? k0 + CHUNK : k;
                for (ptrdiff_t r = 0; r < blockRows; r += 12) {
                    ptrdiff_t rows = blockRows - r < 12 ? blockRows - r : 12;
                    const float *ap = a + (b0 + r) * lda;
                    float *cp = c + (b0 + r) * ldc + p * 16;
                    if (p + 1 < panels) {
                        tile_avx512(ap, lda, rows, k0, k1, p0, p0 + k * 16, 2, cp, ldc, 0xffff, lanes(n - p * 16 - 16),
                                    k0 == 0, bp);
                    } else {
                        tile_avx512(ap, lda, rows, k0, k1, p0, p0, 1, cp, ldc, lanes(n - p * 16), 0, k0 == 0, bp);
                    }
                }
            }
        }
    }
}

void latent_f32_packed_product(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                               const float *packed, const float *bias, float *c, ptrdiff_t ldc) {
    if (k == 0) {
        for (ptrdiff_t i = 0; i < m; i++) {
            for (ptrdiff_t j = 0; j < n; j++) c[i * ldc + j] = bias ? bias[j] : 0;
        }
        return;
    }
    product_avx512(m, n, k, a, lda, packed, bias, c, ldc);
}
#else
int latent_f32_packed_supported(void) { return 0; }
void latent_f32_packed_product(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *packed,
                               const float *bias, float *c, ptrdiff_t ldc) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)packed; (void)bias; (void)c; (void)ldc;
    abort();
}
#endif
