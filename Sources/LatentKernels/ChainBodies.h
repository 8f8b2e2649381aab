/*
 * The scaled forward and backward recursions of a hidden Markov model whose states fit in one
 * vector (K ≤ LANES, padded with zero emissions), and its posterior pass. Included by
 * KernelBodies.h once per width with LANES (4 or 8) and CNAME(name) defined.
 *
 * A vector is rescaled only when its sum leaves [2⁻⁶⁴, 2⁶⁴], so the division stays off the chain's
 * critical path; the scale applied at each step (1 if none) is written out. Two partial sums halve
 * the chain of dependent multiply-adds of each step.
 */
typedef double CNAME(vec) __attribute__((vector_size(LANES * 8)));
#define CLOAD(p) __extension__({ CNAME(vec) v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define CSTORE(p, v) __extension__({ CNAME(vec) v_ = (v); __builtin_memcpy((p), &v_, sizeof v_); })

static inline __attribute__((always_inline)) double CNAME(sum)(CNAME(vec) v) {
    double s = 0;
    for (int l = 0; l < LANES; l++) s += v[l];
    return s;
}

/// Rescales `v` when its sum leaves [2⁻⁶⁴, 2⁶⁴]; the scale applied goes to `*scale`.
static inline __attribute__((always_inline)) CNAME(vec) CNAME(rescaled)(CNAME(vec) v, double *scale) {
    double s = CNAME(sum)(v);
    *scale = 1;
    if (s > 0 && !(s >= 0x1p-64 && s <= 0x1p64)) {
        v = v * (1 / s);
        *scale = s;
    }
    return v;
}

/// α̂_t ∝ (Σ_i α̂_{t−1}(i) A_i·) ⊙ b_t.
static inline __attribute__((always_inline)) CNAME(vec) CNAME(forward_step)(CNAME(vec) previous, const CNAME(vec) *rows,
                                                                            const double *bt, double *scale) {
    CNAME(vec) even = previous[0] * rows[0], odd = previous[1] * rows[1];
    for (int i = 2; i < LANES; i += 2) {
        even = previous[i] * rows[i] + even;
        odd = previous[i + 1] * rows[i + 1] + odd;
    }
    return CNAME(rescaled)((even + odd) * CLOAD(bt), scale);
}

/// β̃_s ∝ Σ_j A_·j w_j with w = b_{s+1} ⊙ β̃_{s+1}.
static inline __attribute__((always_inline)) CNAME(vec) CNAME(backward_step)(CNAME(vec) next, const CNAME(vec) *columns,
                                                                             const double *bn, double *scale) {
    CNAME(vec) w = CLOAD(bn) * next;
    CNAME(vec) even = w[0] * columns[0], odd = w[1] * columns[1];
    for (int j = 2; j < LANES; j += 2) {
        even = w[j] * columns[j] + even;
        odd = w[j + 1] * columns[j + 1] + odd;
    }
    return CNAME(rescaled)(even + odd, scale);
}

static void CNAME(hmm_forward)(const double *rowsIn, const double *b, ptrdiff_t steps, double *alpha, double *scale) {
    CNAME(vec) rows[LANES];
    for (int i = 0; i < LANES; i++) rows[i] = CLOAD(rowsIn + i * LANES);
    CNAME(vec) a = CLOAD(alpha);
    for (ptrdiff_t t = 1; t < steps; t++) {
        a = CNAME(forward_step)(a, rows, b + t * LANES, scale + t);
        CSTORE(alpha + t * LANES, a);
    }
}

static void CNAME(hmm_backward)(const double *columnsIn, const double *b, ptrdiff_t steps, double *beta, double *scale) {
    CNAME(vec) columns[LANES];
    for (int j = 0; j < LANES; j++) columns[j] = CLOAD(columnsIn + j * LANES);
    CNAME(vec) v = CLOAD(beta + (steps - 1) * LANES);
    for (ptrdiff_t s = steps - 2; s >= 0; s--) {
        v = CNAME(backward_step)(v, columns, b + (s + 1) * LANES, scale + s);
        CSTORE(beta + s * LANES, v);
    }
}

static void CNAME(hmm_forward_backward)(const double *rowsIn, const double *columnsIn, const double *b, ptrdiff_t steps,
                                        double *alpha, double *beta, double *forwardScale, double *backwardScale) {
    CNAME(vec) rows[LANES], columns[LANES];
    for (int i = 0; i < LANES; i++) {
        rows[i] = CLOAD(rowsIn + i * LANES);
        columns[i] = CLOAD(columnsIn + i * LANES);
    }
    // Step t of the forward chain and step T−1−t of the backward chain overlap in the pipeline.
    CNAME(vec) a = CLOAD(alpha), v = CLOAD(beta + (steps - 1) * LANES);
    for (ptrdiff_t t = 1; t < steps; t++) {
        ptrdiff_t s = steps - 1 - t;
        a = CNAME(forward_step)(a, rows, b + t * LANES, forwardScale + t);
        v = CNAME(backward_step)(v, columns, b + (s + 1) * LANES, backwardScale + s);
        CSTORE(alpha + t * LANES, a);
        CSTORE(beta + s * LANES, v);
    }
}

static void CNAME(hmm_posteriors)(ptrdiff_t k, ptrdiff_t from, ptrdiff_t to, ptrdiff_t steps, const double *alpha,
                                  const double *beta, const double *b, const double *backwardScale, double *gamma,
                                  double *sums) {
    CNAME(vec) m[LANES];
    for (int i = 0; i < LANES; i++) m[i] = (CNAME(vec)){0};
    for (ptrdiff_t t = from; t < to; t++) {
        CNAME(vec) at = CLOAD(alpha + t * LANES), bt = CLOAD(beta + t * LANES);
        double overlap = CNAME(sum)(at * bt);
        if (!(overlap > 0 && overlap <= __DBL_MAX__)) {
            if (gamma) for (ptrdiff_t s = 0; s < k; s++) gamma[t * k + s] = 0;
            continue;
        }
        double inverse = 1 / overlap;
        if (gamma) {
            CNAME(vec) g = at * bt * inverse;
            if (k == LANES) {
                CSTORE(gamma + t * k, g);
            } else {
                for (ptrdiff_t s = 0; s < k; s++) gamma[t * k + s] = g[s];
            }
        }
        if (sums && t + 1 < steps) {
            CNAME(vec) w = CLOAD(b + (t + 1) * LANES) * CLOAD(beta + (t + 1) * LANES) * (inverse / backwardScale[t]);
            for (int i = 0; i < LANES; i++) m[i] = at[i] * w + m[i];
        }
    }
    if (sums) for (ptrdiff_t i = 0; i < k; i++) CSTORE(sums + i * LANES, m[i]);
}

#undef CLOAD
#undef CSTORE
