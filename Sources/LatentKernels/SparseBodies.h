/*
 * Products of a sparse batch (compressed sparse rows) with a dense row-major matrix, and the
 * ReLU's zeroing, included by
 * KernelBodies.h once per scalar type with SCALAR (float or double) and SNAME(name) defined, and
 * NATIVE_BYTES, the width of the variant's vector registers.
 *
 * Both products hold a strip of up to STRIP_VECTORS vectors of one output row in registers while
 * they run over that row's nonzeros (strips of 8, then 4, 2 and 1 vectors), then single columns. Every output element adds
 * its terms in the order of the nonzeros, whatever the strip width, so a result depends only on the
 * data (and on whether the variant fuses multiply-adds).
 */
typedef SCALAR SNAME(vec) __attribute__((vector_size(NATIVE_BYTES)));
#define LANES ((ptrdiff_t)(NATIVE_BYTES / sizeof(SCALAR)))
#define STRIP_VECTORS 8
#define VLOAD(p) __extension__({ SNAME(vec) v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define VSTORE(p, v) __extension__({ SNAME(vec) v_ = (v); __builtin_memcpy((p), &v_, sizeof v_); })

/* y[:, c0 ..< c0 + width·LANES] += X · W[:, same] for one strip, its accumulators in registers
 * (`width` is a constant at every call, so the loops unroll). */
static inline __attribute__((always_inline)) void SNAME(multiply_strip)(
    const int width, ptrdiff_t rows, const ptrdiff_t *starts, const int *indices, const SCALAR *values,
    const SCALAR *w, ptrdiff_t n, SCALAR *y, ptrdiff_t c0) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        SCALAR *out = y + i * n + c0;
        SNAME(vec) acc[STRIP_VECTORS];
        for (int v = 0; v < width; v++) acc[v] = VLOAD(out + v * LANES);
        for (ptrdiff_t e = starts[i]; e < starts[i + 1]; e++) {
            const SCALAR x = values[e];
            const SCALAR *row = w + (ptrdiff_t)indices[e] * n + c0;
            for (int v = 0; v < width; v++) acc[v] = x * VLOAD(row + v * LANES) + acc[v];
        }
        for (int v = 0; v < width; v++) VSTORE(out + v * LANES, acc[v]);
    }
}

static void SNAME(sparse_multiply)(ptrdiff_t rows, const ptrdiff_t *starts, const int *indices, const SCALAR *values,
                                   const SCALAR *w, ptrdiff_t n, SCALAR *y) {
    ptrdiff_t c0 = 0;
    for (; c0 + 8 * LANES <= n; c0 += 8 * LANES) SNAME(multiply_strip)(8, rows, starts, indices, values, w, n, y, c0);
    if (c0 + 4 * LANES <= n) { SNAME(multiply_strip)(4, rows, starts, indices, values, w, n, y, c0); c0 += 4 * LANES; }
    if (c0 + 2 * LANES <= n) { SNAME(multiply_strip)(2, rows, starts, indices, values, w, n, y, c0); c0 += 2 * LANES; }
    if (c0 + LANES <= n) { SNAME(multiply_strip)(1, rows, starts, indices, values, w, n, y, c0); c0 += LANES; }
    if (c0 == n) return;
    for (ptrdiff_t i = 0; i < rows; i++) {
        SCALAR *out = y + i * n;
        for (ptrdiff_t e = starts[i]; e < starts[i + 1]; e++) {
            const SCALAR x = values[e];
            const SCALAR *row = w + (ptrdiff_t)indices[e] * n;
            for (ptrdiff_t c = c0; c < n; c++) out[c] = x * row[c] + out[c];
        }
    }
}

/* dW[:, c0 ..< c0 + width·LANES] = α·Xᵀ·G[:, same] + β·dW[:, same] from the column-sorted entries,
 * a row of dW at a time in registers (β = 0: dW is only written). */
static inline __attribute__((always_inline)) void SNAME(transposed_strip)(
    const int width, ptrdiff_t columns, const ptrdiff_t *columnEnds, const int *entryRows, const SCALAR *entryValues,
    const SCALAR *g, ptrdiff_t n, SCALAR *dw, ptrdiff_t c0, SCALAR alpha, SCALAR beta) {
    ptrdiff_t e = 0;
    for (ptrdiff_t j = 0; j < columns; j++) {
        SNAME(vec) acc[STRIP_VECTORS];
        for (int v = 0; v < width; v++) acc[v] = (SNAME(vec)){0};
        for (; e < columnEnds[j]; e++) {
            const SCALAR x = entryValues[e];
            const SCALAR *src = g + (ptrdiff_t)entryRows[e] * n + c0;
            for (int v = 0; v < width; v++) acc[v] = x * VLOAD(src + v * LANES) + acc[v];
        }
        SCALAR *out = dw + j * n + c0;
        if (beta == 0) {
            if (alpha == 1) {
                for (int v = 0; v < width; v++) VSTORE(out + v * LANES, acc[v]);
            } else {
                for (int v = 0; v < width; v++) VSTORE(out + v * LANES, alpha * acc[v]);
            }
        } else {
            for (int v = 0; v < width; v++) VSTORE(out + v * LANES, alpha * acc[v] + beta * VLOAD(out + v * LANES));
        }
    }
}

/* dW = α·Xᵀ·G + β·dW column by column of X: the nonzeros are sorted by column first (a counting sort
 * that keeps the rows in order), then each row of dW sums its terms in registers and is written once,
 * a strip of G's columns at a time (the strip of G stays in the first-level cache). No clearing pass;
 * dW is read only when β ≠ 0 (a gradient step applied in place); the terms of each element add in the
 * order of the rows. The caller's scratch holds the sorted entries: `columns + 1` column ends,
 * `starts[rows]` rows and values. */
static void SNAME(sparse_transposed_multiply)(ptrdiff_t rows, ptrdiff_t columns, const ptrdiff_t *starts,
                                              const int *indices, const SCALAR *values, const SCALAR *g, ptrdiff_t n,
                                              SCALAR *dw, ptrdiff_t *columnEnds, int *entryRows, SCALAR *entryValues,
                                              SCALAR alpha, SCALAR beta) {
    const ptrdiff_t count = starts[rows];
    // Column c's entries go to [columnEnds[c - 1], columnEnds[c]) (columnEnds[-1] read as 0).
    __builtin_memset(columnEnds, 0, sizeof(ptrdiff_t) * (size_t)(columns + 1));
    for (ptrdiff_t e = 0; e < count; e++) columnEnds[indices[e] + 1]++;
    for (ptrdiff_t c = 0; c < columns; c++) columnEnds[c + 1] += columnEnds[c];
    for (ptrdiff_t i = 0; i < rows; i++) {
        for (ptrdiff_t e = starts[i]; e < starts[i + 1]; e++) {
            const ptrdiff_t at = columnEnds[indices[e]]++;
            entryRows[at] = (int)i;
            entryValues[at] = values[e];
        }
    }
    ptrdiff_t c0 = 0;
    // Strips of 8 vectors while a strip of G's rows fits the first-level cache beside the entries
    // (measured on MNIST batches: 50 rows × 8 vectors and 200 rows × 4 are the faster choices).
    if ((size_t)rows * 8 * NATIVE_BYTES <= 26 * 1024) {
        for (; c0 + 8 * LANES <= n; c0 += 8 * LANES) SNAME(transposed_strip)(8, columns, columnEnds, entryRows, entryValues, g, n, dw, c0, alpha, beta);
    }
    for (; c0 + 4 * LANES <= n; c0 += 4 * LANES) SNAME(transposed_strip)(4, columns, columnEnds, entryRows, entryValues, g, n, dw, c0, alpha, beta);
    if (c0 + 2 * LANES <= n) { SNAME(transposed_strip)(2, columns, columnEnds, entryRows, entryValues, g, n, dw, c0, alpha, beta); c0 += 2 * LANES; }
    if (c0 + LANES <= n) { SNAME(transposed_strip)(1, columns, columnEnds, entryRows, entryValues, g, n, dw, c0, alpha, beta); c0 += LANES; }
    if (c0 < n) {
        ptrdiff_t e = 0;
        for (ptrdiff_t j = 0; j < columns; j++) {
            SCALAR *out = dw + j * n;
            SCALAR tail[64];  // the last n − c0 < LANES ≤ 16 columns
            for (ptrdiff_t c = c0; c < n; c++) tail[c - c0] = 0;
            for (; e < columnEnds[j]; e++) {
                const SCALAR x = entryValues[e];
                const SCALAR *src = g + (ptrdiff_t)entryRows[e] * n;
                for (ptrdiff_t c = c0; c < n; c++) tail[c - c0] = x * src[c] + tail[c - c0];
            }
            for (ptrdiff_t c = c0; c < n; c++) out[c] = beta == 0 ? alpha * tail[c - c0] : alpha * tail[c - c0] + beta * out[c];
        }
    }
}

/* Chunks of CHUNK_WIDTH consecutive columns: the unit of chunked_transposed_multiply below. */
#define CHUNK_WIDTH 4

/* Whether any of the `count` (at most CHUNK_WIDTH) entries at `x` is nonzero (NaN counts as nonzero). */
static inline __attribute__((always_inline)) ptrdiff_t SNAME(chunk_is_nonzero)(const SCALAR *x, ptrdiff_t count) {
    ptrdiff_t any = 0;
    for (ptrdiff_t c = 0; c < count; c++) any |= x[c] != 0;
    return any;
}

/* The same for a whole chunk, on the bits: some entry has a bit set besides its sign. */
static inline __attribute__((always_inline)) ptrdiff_t SNAME(full_chunk_is_nonzero)(const SCALAR *x) {
    unsigned long long words[CHUNK_WIDTH * sizeof(SCALAR) / 8], any = 0;
    __builtin_memcpy(words, x, sizeof words);
    for (size_t w = 0; w < sizeof words / 8; w++) any |= words[w];
    return (any & (sizeof(SCALAR) == 4 ? 0x7fffffff7fffffffULL : 0x7fffffffffffffffULL)) != 0;
}

/* dW[c0 ..< c0 + width·LANES] for every chunk of columns: the chunk's CHUNK_WIDTH rows of dW sum their
 * terms in registers over the chunk's entries (one row of G each, loaded once for all of them). */
static inline __attribute__((always_inline)) void SNAME(chunk_strip)(
    const int width, ptrdiff_t columns, const ptrdiff_t *starts, const ptrdiff_t *ends, const SCALAR *const *sources,
    const SCALAR *values, ptrdiff_t n, SCALAR *dw, ptrdiff_t c0, SCALAR alpha, SCALAR beta) {
    const ptrdiff_t chunks = (columns + CHUNK_WIDTH - 1) / CHUNK_WIDTH;
    for (ptrdiff_t q = 0; q < chunks; q++) {
        SNAME(vec) acc[CHUNK_WIDTH][4];
        for (int c = 0; c < CHUNK_WIDTH; c++)
            for (int v = 0; v < width; v++) acc[c][v] = (SNAME(vec)){0};
        for (ptrdiff_t e = starts[q]; e < ends[q]; e++) {
            const SCALAR *src = sources[e] + c0, *x = values + e * CHUNK_WIDTH;
            for (int v = 0; v < width; v++) {
                const SNAME(vec) s = VLOAD(src + v * LANES);
                for (int c = 0; c < CHUNK_WIDTH; c++) acc[c][v] = x[c] * s + acc[c][v];
            }
        }
        for (ptrdiff_t c = 0; c < CHUNK_WIDTH && q * CHUNK_WIDTH + c < columns; c++) {
            SCALAR *out = dw + (q * CHUNK_WIDTH + c) * n + c0;
            if (beta == 0) {
                for (int v = 0; v < width; v++) VSTORE(out + v * LANES, alpha * acc[c][v]);
            } else {
                for (int v = 0; v < width; v++) VSTORE(out + v * LANES, alpha * acc[c][v] + beta * VLOAD(out + v * LANES));
            }
        }
    }
}

/* dW = α·(XᵀG + s·YᵀK) + β·dW for dense row-major X (rowsX × columns), G (rowsX × n), Y (rowsY × columns)
 * and K (rowsY × n), when the zeros of X and Y come in runs along their rows (binary images). The
 * columns are cut into chunks of CHUNK_WIDTH; each row's chunks that hold a nonzero are listed per
 * chunk (two passes: count, then fill; each chunk's list has one spare slot, so the fill writes
 * without branches), and the strips then load each listed row of G or K once for the chunk's
 * CHUNK_WIDTH rows of dW. Every element of dW adds its terms in the order of the rows (those of X, then
 * those of Y), zeros inside a listed chunk included (they add 0·G exactly, so a non-finite entry of G
 * would reach its chunk's other columns). Returns −1, writing nothing to dW, when more than `limit`
 * chunks hold a nonzero (the caller's scratch: `chunks + 1` starts and ends, `limit + chunks` sources
 * and CHUNK_WIDTH times as many values, with chunks = ⌈columns / CHUNK_WIDTH⌉); else 0. */
static ptrdiff_t SNAME(chunked_transposed_multiply)(ptrdiff_t columns, ptrdiff_t n, ptrdiff_t rowsX, const SCALAR *x,
                                                    const SCALAR *g, ptrdiff_t rowsY, const SCALAR *y, const SCALAR *k,
                                                    SCALAR sign, SCALAR *dw, SCALAR alpha, SCALAR beta, ptrdiff_t limit,
                                                    ptrdiff_t *starts, ptrdiff_t *ends, const SCALAR **sources,
                                                    SCALAR *values) {
    // With vectors of fewer than eight floats the strips hold too few columns to gain (measured).
    if (NATIVE_BYTES < 32) return -1;
    const ptrdiff_t chunks = (columns + CHUNK_WIDTH - 1) / CHUNK_WIDTH, full = columns / CHUNK_WIDTH;
    const ptrdiff_t last = columns - full * CHUNK_WIDTH;   // columns of a last, partial chunk
    const SCALAR *const blocks[2] = {x, y}, *const rowsOf[2] = {g, k};
    const ptrdiff_t blockRows[2] = {rowsX, rowsY};
    const SCALAR signs[2] = {1, sign};
    for (ptrdiff_t q = 0; q < chunks; q++) ends[q] = 0;
    for (int b = 0; b < 2; b++) {
        for (ptrdiff_t i = 0; i < blockRows[b]; i++) {
            const SCALAR *row = blocks[b] + i * columns;
            for (ptrdiff_t q = 0; q < full; q++) ends[q] += SNAME(full_chunk_is_nonzero)(row + q * CHUNK_WIDTH);
            if (last) ends[full] += SNAME(chunk_is_nonzero)(row + full * CHUNK_WIDTH, last);
        }
    }
    ptrdiff_t total = 0;
    for (ptrdiff_t q = 0; q < chunks; q++) total += ends[q];
    if (total > limit) return -1;
    starts[0] = 0;
    for (ptrdiff_t q = 0; q < chunks; q++) {
        starts[q + 1] = starts[q] + ends[q] + 1;
        ends[q] = starts[q];
    }
    for (int b = 0; b < 2; b++) {
        const SCALAR s = signs[b];
        for (ptrdiff_t i = 0; i < blockRows[b]; i++) {
            const SCALAR *row = blocks[b] + i * columns, *source = rowsOf[b] + i * n;
            for (ptrdiff_t q = 0; q < full; q++) {
                const SCALAR *chunk = row + q * CHUNK_WIDTH;
                const ptrdiff_t at = ends[q];
                sources[at] = source;
                for (int c = 0; c < CHUNK_WIDTH; c++) values[at * CHUNK_WIDTH + c] = s * chunk[c];
                ends[q] = at + SNAME(full_chunk_is_nonzero)(chunk);
            }
            if (last) {
                const SCALAR *chunk = row + full * CHUNK_WIDTH;
                const ptrdiff_t at = ends[full];
                sources[at] = source;
                for (int c = 0; c < CHUNK_WIDTH; c++) values[at * CHUNK_WIDTH + c] = c < last ? s * chunk[c] : 0;
                ends[full] = at + SNAME(chunk_is_nonzero)(chunk, last);
            }
        }
    }
    const int width = NATIVE_BYTES >= 64 ? 4 : 2;   // CHUNK_WIDTH × width accumulators in registers
    ptrdiff_t c0 = 0;
    for (; c0 + width * LANES <= n; c0 += width * LANES) SNAME(chunk_strip)(width, columns, starts, ends, sources, values, n, dw, c0, alpha, beta);
    for (; c0 + LANES <= n; c0 += LANES) SNAME(chunk_strip)(1, columns, starts, ends, sources, values, n, dw, c0, alpha, beta);
    // The last n − c0 < LANES columns: CHUNK_WIDTH at a time in short vectors, then one by one.
    typedef SCALAR SNAME(quad) __attribute__((vector_size(CHUNK_WIDTH * sizeof(SCALAR))));
    for (; c0 < n; c0 += CHUNK_WIDTH) {
        const ptrdiff_t span = n - c0 < CHUNK_WIDTH ? n - c0 : CHUNK_WIDTH;
        for (ptrdiff_t q = 0; q < chunks; q++) {
            SNAME(quad) acc[CHUNK_WIDTH] = {{0}};
            for (ptrdiff_t e = starts[q]; e < ends[q]; e++) {
                const SCALAR *src = sources[e] + c0, *xv = values + e * CHUNK_WIDTH;
                SNAME(quad) s = {0};
                if (span == CHUNK_WIDTH) __builtin_memcpy(&s, src, sizeof s);
                else for (ptrdiff_t j = 0; j < span; j++) s[j] = src[j];
                for (int c = 0; c < CHUNK_WIDTH; c++) acc[c] = xv[c] * s + acc[c];
            }
            for (ptrdiff_t c = 0; c < CHUNK_WIDTH && q * CHUNK_WIDTH + c < columns; c++) {
                SCALAR *out = dw + (q * CHUNK_WIDTH + c) * n + c0;
                for (ptrdiff_t j = 0; j < span; j++) out[j] = beta == 0 ? alpha * acc[c][j] : alpha * acc[c][j] + beta * out[j];
            }
        }
    }
    return 0;
}

#undef CHUNK_WIDTH

static void SNAME(zero_where_not_positive)(SCALAR *x, const SCALAR *reference, ptrdiff_t n, int strictly) {
    // Two loops the compiler vectorises with selects: in place, or with no overlap at all (a partial
    // overlap would leave it a scalar loop of branches, 4 ns per element on random signs).
    if (x == reference) {
        if (strictly) {
            for (ptrdiff_t i = 0; i < n; i++) x[i] = x[i] < 0 ? 0 : x[i];
        } else {
            for (ptrdiff_t i = 0; i < n; i++) x[i] = x[i] <= 0 ? 0 : x[i];
        }
        return;
    }
    SCALAR *restrict out = x;
    const SCALAR *restrict ref = reference;
    if (strictly) {
        for (ptrdiff_t i = 0; i < n; i++) out[i] = ref[i] < 0 ? 0 : out[i];
    } else {
        for (ptrdiff_t i = 0; i < n; i++) out[i] = ref[i] <= 0 ? 0 : out[i];
    }
}

static ptrdiff_t SNAME(compress_rows)(const SCALAR *x, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t limit,
                                      ptrdiff_t *starts, int *indices, SCALAR *values) {
    ptrdiff_t count = 0;
    starts[0] = 0;
    for (ptrdiff_t i = 0; i < rows; i++) {
        const SCALAR *row = x + i * columns;
        if (count + columns <= limit) {
            // Room for the whole row: write every entry and advance past the nonzeros only (no
            // branches to mispredict on scattered nonzeros).
            for (ptrdiff_t j = 0; j < columns; j++) {
                indices[count] = (int)j;
                values[count] = row[j];
                count += row[j] != 0;
            }
            starts[i + 1] = count;
            continue;
        }
        ptrdiff_t j = 0;
        for (; j + LANES <= columns; j += LANES) {
            SNAME(vec) v = VLOAD(row + j);
            int any = 0;
            for (ptrdiff_t l = 0; l < LANES; l++) any |= v[l] != 0;   // one vector comparison
            if (!any) continue;
            for (ptrdiff_t l = 0; l < LANES; l++) {
                if (v[l] != 0) {
                    if (count == limit) return -1;
                    indices[count] = (int)(j + l);
                    values[count++] = v[l];
                }
            }
        }
        for (; j < columns; j++) {
            if (row[j] != 0) {
                if (count == limit) return -1;
                indices[count] = (int)j;
                values[count++] = row[j];
            }
        }
        starts[i + 1] = count;
    }
    return count;
}

#undef LANES
#undef STRIP_VECTORS
#undef VLOAD
#undef VSTORE
