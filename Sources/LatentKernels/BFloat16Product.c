// A single-precision matrix product whose operands are rounded to bfloat16, on the AVX-512 BF16
// dot-product instruction (see include/LatentKernels.h: latent_bf16_*).
//
// Layout. The right operand B (k × n, fixed for many products: a layer's weights) is packed once
// into panels of 16 columns; within a panel, each pair of rows (2q, 2q + 1) holds 16 lanes of two
// bfloat16 values (B[2q][j], B[2q + 1][j]), which is the operand order of `vdpbf16ps`. The left
// operand A is converted eight rows at a time into a row-major bfloat16 buffer whose pairs of
// adjacent columns are broadcast as one 32-bit lane. The micro-kernel keeps an 8 × 32 tile of C in
// 16 registers and accumulates in single precision; n is walked in two-panel steps (one panel at the
// edge, with masked stores for a partial panel), and k in chunks small enough that a chunk of the
// panel pair stays in the first-level cache while the rows of A stream past it.
#include "LatentKernels.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/// Round-to-nearest-even conversion of one value (a NaN stays a quiet NaN).
static uint16_t bf16_from_float(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

ptrdiff_t latent_bf16_packed_count(ptrdiff_t k, ptrdiff_t n) { return ((k + 1) / 2) * 32 * ((n + 15) / 16); }

void latent_bf16_pack(const float *b, ptrdiff_t ldb, ptrdiff_t k, ptrdiff_t n, uint16_t *packed) {
    ptrdiff_t pairs = (k + 1) / 2, panels = (n + 15) / 16;
    for (ptrdiff_t p = 0; p < panels; p++) {
        uint16_t *panel = packed + p * pairs * 32;
        for (ptrdiff_t q = 0; q < pairs; q++) {
            for (ptrdiff_t lane = 0; lane < 16; lane++) {
                ptrdiff_t j = p * 16 + lane;
                for (ptrdiff_t h = 0; h < 2; h++) {
                    ptrdiff_t row = 2 * q + h;
                    panel[q * 32 + lane * 2 + h] = (j < n && row < k) ? bf16_from_float(b[row * ldb + j]) : 0;
                }
            }
        }
    }
}

float latent_bf16_round(float value) {
    uint32_t bits = (uint32_t)bf16_from_float(value) << 16;
    float rounded;
    memcpy(&rounded, &bits, sizeof rounded);
    return rounded;
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

// Measured on Zen 4 (1,000 × 400 · 400 × 784): 128-row blocks and 100-pair chunks ran at 200 GFLOP/s,
// against 96 for OpenBLAS's SGEMM in the same process; 256-row blocks with 50-pair chunks fell to 137.
enum { ROWS = 8, BLOCK_ROWS = 128, CHUNK_PAIRS = 100 };

int latent_bf16_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bf16");
}

/// Rows `r0 ..< r0 + rows` of A (at most ROWS; the rest of the buffer is zero) as bfloat16 pairs:
/// `out[i * pairs + q]` holds columns 2q and 2q + 1 of row i. The vector conversion rounds as
/// `bf16_from_float` does but reads subnormal inputs (below 1.2e-38) as zero; the scalar tail keeps them.
BF16_TARGET static void convert_rows(const float *a, ptrdiff_t lda, ptrdiff_t rows, ptrdiff_t k, ptrdiff_t pairs,
                                     uint32_t *out) {
    for (ptrdiff_t i = 0; i < ROWS; i++) {
        uint16_t *row = (uint16_t *)(out + i * pairs);
        if (i >= rows) {
            memset(row, 0, (size_t)pairs * 4);
            continue;
        }
        const float *src = a + i * lda;
        ptrdiff_t j = 0;
        for (; j + 32 <= k; j += 32) {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + j + 16), _mm512_loadu_ps(src + j));
            _mm512_storeu_si512((void *)(row + j), (__m512i)v);
        }
        for (; j < 2 * pairs; j++) row[j] = j < k ? bf16_from_float(src[j]) : 0;
    }
}

/// C tile (8 rows × 16·panels columns) += A-chunk × B-chunk, or = when `first` (plus the bias).
BF16_TARGET __attribute__((always_inline)) static inline void
tile(const uint32_t *a, ptrdiff_t pairs, ptrdiff_t q0, ptrdiff_t q1, const uint16_t *p0, const uint16_t *p1,
     int panels, float *c, ptrdiff_t ldc, ptrdiff_t rows, __mmask16 m0, __mmask16 m1, int first, const float *bias) {
    __m512 acc[ROWS][2];
    for (int i = 0; i < ROWS; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
    for (ptrdiff_t q = q0; q < q1; q++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(p0 + q * 32));
        __m512bh b1 = panels == 2 ? (__m512bh)_mm512_loadu_si512((const void *)(p1 + q * 32)) : b0;
        for (int i = 0; i < ROWS; i++) {
            __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i * pairs + q]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
            if (panels == 2) acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
        }
    }
    for (ptrdiff_t i = 0; i < rows; i++) {
        float *ci = c + i * ldc;
        __m512 x0 = acc[i][0], x1 = acc[i][1];
        if (first) {
            if (bias) {
                x0 = _mm512_add_ps(x0, _mm512_maskz_loadu_ps(m0, bias));
                if (panels == 2) x1 = _mm512_add_ps(x1, _mm512_maskz_loadu_ps(m1, bias + 16));
            }
        } else {
            x0 = _mm512_add_ps(x0, _mm512_maskz_loadu_ps(m0, ci));
            if (panels == 2) x1 = _mm512_add_ps(x1, _mm512_maskz_loadu_ps(m1, ci + 16));
        }
        _mm512_mask_storeu_ps(ci, m0, x0);
        if (panels == 2) _mm512_mask_storeu_ps(ci + 16, m1, x1);
    }
}

static __mmask16 lanes(ptrdiff_t count) { return count >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << count) - 1u); }

BF16_TARGET void latent_bf16_product(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                                     const uint16_t *packed, const float *bias, float *c, ptrdiff_t ldc) {
    ptrdiff_t pairs = (k + 1) / 2, panels = (n + 15) / 16;
    if (pairs == 0) {
        for (ptrdiff_t i = 0; i < m; i++) {
            for (ptrdiff_t j = 0; j < n; j++) c[i * ldc + j] = bias ? bias[j] : 0;
        }
        return;
    }
    uint32_t *buffer = aligned_alloc(64, (size_t)(BLOCK_ROWS * pairs * 4 + 63) / 64 * 64);
    if (buffer == NULL) abort();
    for (ptrdiff_t b0 = 0; b0 < m; b0 += BLOCK_ROWS) {
        ptrdiff_t blockRows = m - b0 < BLOCK_ROWS ? m - b0 : BLOCK_ROWS;
        for (ptrdiff_t r = 0; r < blockRows; r += ROWS) {
            convert_rows(a + (b0 + r) * lda, lda, blockRows - r < ROWS ? blockRows - r : ROWS, k, pairs, buffer + r * pairs);
        }
        for (ptrdiff_t p = 0; p < panels; p += 2) {
            const uint16_t *p0 = packed + p * pairs * 32;
            const float *bp = bias ? bias + p * 16 : NULL;
            for (ptrdiff_t q0 = 0; q0 < pairs; q0 += CHUNK_PAIRS) {
                ptrdiff_t q1 = q0 + CHUNK_PAIRS < pairs ? q0 + CHUNK_PAIRS : pairs;
                for (ptrdiff_t r = 0; r < blockRows; r += ROWS) {
                    ptrdiff_t rows = blockRows - r < ROWS ? blockRows - r : ROWS;
                    float *cp = c + (b0 + r) * ldc + p * 16;
                    const uint32_t *ap = buffer + r * pairs;
                    if (p + 1 < panels) {
                        tile(ap, pairs, q0, q1, p0, p0 + pairs * 32, 2, cp, ldc, rows, 0xffff, lanes(n - p * 16 - 16),
                             q0 == 0, bp);
                    } else {
                        tile(ap, pairs, q0, q1, p0, p0, 1, cp, ldc, rows, lanes(n - p * 16), 0, q0 == 0, bp);
                    }
                }
            }
        }
    }
    free(buffer);
}
#else
int latent_bf16_supported(void) { return 0; }
void latent_bf16_product(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, const uint16_t *packed,
                         const float *bias, float *c, ptrdiff_t ldc) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)packed; (void)bias; (void)c; (void)ldc;
    abort();
}
#endif
