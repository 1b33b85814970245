// keras-rs CUDA kernels, compiled at run time with NVRTC (see cuda/module.rs).
// Every kernel mirrors a CPU kernel of the engine; tests/cuda_ops.rs compares them.
// Conventions: f32 data, 64-bit element counts, grid-stride loops, row-major layouts.

typedef unsigned long long u64;
typedef long long i64;
#define KINF __int_as_float(0x7f800000)

#define GRID_STRIDE(i, n) for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (u64)blockDim.x * gridDim.x)

// ---------------------------------------------------------------------------------------------
// Unary functions: codes and parameters mirror ops::Unary (cuda/ops.rs `unary_code`).
// ---------------------------------------------------------------------------------------------

__device__ __forceinline__ float sigmoidf_(float x) {
    if (x >= 0.f) return 1.f / (1.f + expf(-x));
    float e = expf(x);
    return e / (1.f + e);
}
__device__ __forceinline__ float softplusf_(float x) { return fmaxf(x, 0.f) + log1pf(expf(-fabsf(x))); }

__device__ void relu_params(float x, float slope, float mx, float th, float* y_out, float* d_out) {
    if (slope != 0.f && isinf(mx) && th == 0.f) {
        if (x > 0.f) { *y_out = x; *d_out = 1.f; } else { *y_out = slope * x; *d_out = slope; }
        return;
    }
    bool clip = !isinf(mx);
    float y, d;
    if (th != 0.f) {
        if (x > th) { y = x; d = 1.f; } else { y = 0.f; d = 0.f; }
    } else if (mx == 6.f) {
        clip = false;
        y = fminf(fmaxf(x, 0.f), 6.f);
        d = (x > 0.f && x < 6.f) ? 1.f : 0.f;
    } else if (x > 0.f) { y = x; d = 1.f; } else { y = 0.f; d = 0.f; }
    if (clip) {
        if (!(y >= 0.f && y <= mx)) d = 0.f;
        y = fminf(fmaxf(y, 0.f), mx);
    }
    if (slope != 0.f && th - x > 0.f) { y -= slope * (th - x); d += slope; }
    *y_out = y; *d_out = d;
}

#define SELU_ALPHA 1.6732632f
#define SELU_SCALE 1.050701f
#define SQRT_2_OVER_PI 0.7978845608028654
#define GELU_COEFF 0.044715

__device__ float unary_apply(int op, float p0, float p1, float p2, float x) {
    switch (op) {
    case 0: return x;
    case 1: return x > 0.f ? x : 0.f;
    case 2: { float y, d; relu_params(x, p0, p1, p2, &y, &d); return y; }
    case 3: return sigmoidf_(x);
    case 4: return tanhf(x);
    case 5: return x > 0.f ? x : p0 * expm1f(x);
    case 6: return x > 0.f ? SELU_SCALE * x : SELU_SCALE * SELU_ALPHA * expm1f(x);
    case 7: return softplusf_(x);
    case 8: return x * sigmoidf_(x);
    case 9: return expf(x);
    case 10: return logf(x);
    case 11: return -x;
    case 12: return x * x;
    case 13: return sqrtf(x);
    case 14: return fabsf(x);
    case 15: return fmaxf(x, 0.f) + p0 * expm1f(fminf(x, 0.f) / p0);
    case 16: { double xd = x; return (float)(0.5 * xd * erfc(-xd * 0.7071067811865476)); }
    case 17: { double xd = x; return (float)(0.5 * xd * (1.0 + tanh(SQRT_2_OVER_PI * (xd + GELU_COEFF * xd * xd * xd)))); }
    case 18: return fminf(fmaxf(x + 3.f, 0.f), 6.f) / 6.f;
    case 19: return x * (fminf(fmaxf(x + 3.f, 0.f), 6.f) / 6.f);
    case 20: return fminf(fmaxf(x, -1.f), 1.f);
    case 21: return fabsf(x) > p0 ? x : 0.f;
    case 22: return x > p0 ? x - p0 : (x < -p0 ? x + p0 : 0.f);
    case 23: return -softplusf_(-x);
    case 24: return x * tanhf(softplusf_(x));
    case 25: return x / (1.f + fabsf(x));
    case 26: return (x + sqrtf(x * x + p0)) / 2.f;
    case 27: return x - tanhf(x);
    case 28: return x <= -1.f ? 0.f : (x < 1.f ? 0.25f * (x + 1.f) * (x + 1.f) : x);
    case 29: return x <= -1.f ? 0.f : (x >= 1.f ? 1.f : 0.5f * (x + 1.f));
    case 30: return x > p0 ? x : p1;
    }
    return x;
}

__device__ float unary_deriv(int op, float p0, float p1, float p2, float x, float y) {
    switch (op) {
    case 0: return 1.f;
    case 1: return x > 0.f ? 1.f : 0.f;
    case 2: { float yy, d; relu_params(x, p0, p1, p2, &yy, &d); return d; }
    case 3: return y * (1.f - y);
    case 4: return 1.f - y * y;
    case 5: return x > 0.f ? 1.f : p0 * expf(x);
    case 6: return x > 0.f ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * expf(x);
    case 7: return sigmoidf_(x);
    case 8: { float s = sigmoidf_(x); return s * (1.f + x * (1.f - s)); }
    case 9: return y;
    case 10: return 1.f / x;
    case 11: return -1.f;
    case 12: return 2.f * x;
    case 13: return 0.5f / y;
    case 14: return x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f);
    case 15: return (x >= 0.f ? 1.f : 0.f) + (x <= 0.f ? expf(x / p0) : 0.f);
    case 16: {
        double xd = x;
        double pdf = exp(-0.5 * xd * xd) / sqrt(2.0 * 3.141592653589793);
        return (float)(0.5 * erfc(-xd * 0.7071067811865476) + xd * pdf);
    }
    case 17: {
        double xd = x;
        double t = tanh(SQRT_2_OVER_PI * (xd + GELU_COEFF * xd * xd * xd));
        return (float)(0.5 * (1.0 + t) + 0.5 * xd * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_COEFF * xd * xd));
    }
    case 18: return (x > -3.f && x < 3.f) ? 1.f / 6.f : 0.f;
    case 19: { float s = (x > -3.f && x < 3.f) ? 1.f / 6.f : 0.f; return fminf(fmaxf(x + 3.f, 0.f), 6.f) / 6.f + x * s; }
    case 20: return (x >= -1.f && x <= 1.f) ? 1.f : 0.f;
    case 21: case 22: return fabsf(x) > p0 ? 1.f : 0.f;
    case 23: return sigmoidf_(-x);
    case 24: { float t = tanhf(softplusf_(x)); return t + x * (1.f - t * t) * sigmoidf_(x); }
    case 25: { float d = 1.f + fabsf(x); return 1.f / (d * d); }
    case 26: return 0.5f * (1.f + x / sqrtf(x * x + p0));
    case 27: { float t = tanhf(x); return t * t; }
    case 28: return x <= -1.f ? 0.f : (x < 1.f ? 0.5f * (x + 1.f) : 1.f);
    case 29: return (x > -1.f && x < 1.f) ? 0.5f : 0.f;
    case 30: return x > p0 ? 1.f : 0.f;
    }
    return 1.f;
}

// f'(x) from y = f(x) (ops::Unary::derivative_from_output): linear, relu, sigmoid, tanh, elu, selu, exp.
__device__ __forceinline__ float deriv_from_output(int op, float p0, float y) {
    switch (op) {
    case 1: return y > 0.f ? 1.f : 0.f;
    case 3: return y * (1.f - y);
    case 4: return 1.f - y * y;
    case 5: return y > 0.f ? 1.f : y + p0;
    case 6: return y > 0.f ? SELU_SCALE : y + SELU_SCALE * SELU_ALPHA;
    case 9: return y;
    }
    return 1.f;
}

extern "C" __global__ void unary_fwd(const float* x, float* y, u64 n, int op, float p0, float p1, float p2) {
    GRID_STRIDE(i, n) y[i] = unary_apply(op, p0, p1, p2, x[i]);
}

extern "C" __global__ void unary_bwd(const float* x, const float* y, const float* g, float* dx, u64 n, int op,
                                     float p0, float p1, float p2) {
    GRID_STRIDE(i, n) dx[i] = g[i] * unary_deriv(op, p0, p1, p2, x[i], y[i]);
}

// dx = g * act'(y), recovered from the output.
extern "C" __global__ void act_bwd_from_output(const float* g, const float* y, float* dx, u64 n, int op, float p0) {
    GRID_STRIDE(i, n) dx[i] = g[i] * deriv_from_output(op, p0, y[i]);
}

// out[r, j] = act(out[r, j] + bias[j]) in place (bias may be null).
extern "C" __global__ void bias_act(float* out, const float* bias, u64 rows, u64 n, int op, float p0, float p1, float p2) {
    GRID_STRIDE(i, rows * n) {
        float v = out[i];
        if (bias) v += bias[i % n];
        out[i] = unary_apply(op, p0, p1, p2, v);
    }
}

// ---------------------------------------------------------------------------------------------
// Binary arithmetic with broadcasting (up to 6 dims; strides are 0 along broadcast axes).
// ---------------------------------------------------------------------------------------------

struct Bcast {
    int rank;
    u64 dims[6];
    u64 sa[6];
    u64 sb[6];
};

__device__ __forceinline__ float binop(int op, float a, float b) {
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    default: return a / b;
    }
}

extern "C" __global__ void binary_same(const float* a, const float* b, float* out, u64 n, int op) {
    GRID_STRIDE(i, n) out[i] = binop(op, a[i], b[i]);
}

// a op s (scalar_right = 1) or s op a.
extern "C" __global__ void binary_scalar(const float* a, float s, float* out, u64 n, int op, int scalar_right) {
    GRID_STRIDE(i, n) out[i] = scalar_right ? binop(op, a[i], s) : binop(op, s, a[i]);
}

extern "C" __global__ void binary_bcast(const float* a, const float* b, float* out, u64 n, int op, Bcast g) {
    GRID_STRIDE(i, n) {
        u64 rem = i, oa = 0, ob = 0;
        for (int d = g.rank - 1; d >= 0; d--) {
            u64 idx = rem % g.dims[d];
            rem /= g.dims[d];
            oa += idx * g.sa[d];
            ob += idx * g.sb[d];
        }
        out[i] = binop(op, a[oa], b[ob]);
    }
}

// d/db of a / b: -g * a / b^2, all broadcast to the output shape.
extern "C" __global__ void div_grad_b(const float* g, const float* a, const float* b, float* out, u64 n, Bcast s) {
    GRID_STRIDE(i, n) {
        u64 rem = i, oa = 0, ob = 0;
        for (int d = s.rank - 1; d >= 0; d--) {
            u64 idx = rem % s.dims[d];
            rem /= s.dims[d];
            oa += idx * s.sa[d];
            ob += idx * s.sb[d];
        }
        float bv = b[ob];
        out[i] = -g[i] * a[oa] / (bv * bv);
    }
}

// out += x (same length): gradient accumulation.
extern "C" __global__ void add_inplace(float* out, const float* x, u64 n) {
    GRID_STRIDE(i, n) out[i] += x[i];
}

extern "C" __global__ void fill_f32(float* out, u64 n, float v) {
    GRID_STRIDE(i, n) out[i] = v;
}

extern "C" __global__ void scale_f32(const float* x, float* out, u64 n, float s) {
    GRID_STRIDE(i, n) out[i] = x[i] * s;
}

// ---------------------------------------------------------------------------------------------
// Reductions. Data is viewed as (outer, len, inner); reduce over len.
// ---------------------------------------------------------------------------------------------

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffff, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffff, v, o));
    return v;
}

// Block-wide sum; every thread gets the result. blockDim.x is a multiple of 32, <= 1024.
__device__ float block_sum(float v) {
    __shared__ float sh[32];
    __shared__ float total;
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
    v = warp_sum(v);
    if (lane == 0) sh[wid] = v;
    __syncthreads();
    if (wid == 0) {
        float s = (threadIdx.x < (blockDim.x >> 5)) ? sh[lane] : 0.f;
        s = warp_sum(s);
        if (lane == 0) total = s;
    }
    __syncthreads();
    float r = total;
    __syncthreads();
    return r;
}

__device__ float block_max(float v) {
    __shared__ float sh[32];
    __shared__ float total;
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
    v = warp_max(v);
    if (lane == 0) sh[wid] = v;
    __syncthreads();
    if (wid == 0) {
        float s = (threadIdx.x < (blockDim.x >> 5)) ? sh[lane] : -KINF;
        s = warp_max(s);
        if (lane == 0) total = s;
    }
    __syncthreads();
    float r = total;
    __syncthreads();
    return r;
}

// inner == 1: one block per row of `len` values. out[o] = scale * sum(x[o, :]).
extern "C" __global__ void reduce_rows(const float* x, float* out, u64 outer, u64 len, float scale) {
    for (u64 o = blockIdx.x; o < outer; o += gridDim.x) {
        const float* r = x + o * len;
        float s = 0.f;
        for (u64 l = threadIdx.x; l < len; l += blockDim.x) s += r[l];
        s = block_sum(s);
        if (threadIdx.x == 0) out[o] = s * scale;
    }
}

// inner > 1: one thread per (o, i), looping over len (coalesced across i).
extern "C" __global__ void reduce_mid(const float* x, float* out, u64 outer, u64 len, u64 inner, float scale) {
    GRID_STRIDE(t, outer * inner) {
        u64 o = t / inner, i = t % inner;
        const float* p = x + o * len * inner + i;
        float s = 0.f;
        for (u64 l = 0; l < len; l++) s += p[l * inner];
        out[t] = s * scale;
    }
}

// Broadcast of a reduced gradient back: dx[o, l, i] = g[o, i] * scale.
extern "C" __global__ void expand_mid(const float* g, float* dx, u64 outer, u64 len, u64 inner, float scale) {
    GRID_STRIDE(t, outer * len * inner) {
        u64 i = t % inner, o = t / (len * inner);
        dx[t] = g[o * inner + i] * scale;
    }
}

// Sum of `g` (shape dims) into `out` (shape dims with strides s.sa, 0 along reduced axes):
// one thread per output element would need the inverse map, so use atomics (out zeroed first).
extern "C" __global__ void sum_to_shape_atomic(const float* g, float* out, u64 n, Bcast s) {
    GRID_STRIDE(i, n) {
        u64 rem = i, oa = 0;
        for (int d = s.rank - 1; d >= 0; d--) {
            u64 idx = rem % s.dims[d];
            rem /= s.dims[d];
            oa += idx * s.sa[d];
        }
        atomicAdd(out + oa, g[i]);
    }
}

// Column sums of (rows, n): out[j] = sum_r x[r, j] (bias gradients). One thread per column,
// split over row chunks with atomics for tall matrices (out zeroed first).
extern "C" __global__ void column_sums(const float* x, float* out, u64 rows, u64 n, u64 rows_per_chunk) {
    u64 chunks = (rows + rows_per_chunk - 1) / rows_per_chunk;
    GRID_STRIDE(t, n * chunks) {
        u64 j = t % n, c = t / n;
        u64 r0 = c * rows_per_chunk, r1 = min(rows, r0 + rows_per_chunk);
        float s = 0.f;
        for (u64 r = r0; r < r1; r++) s += x[r * n + j];
        if (chunks == 1) out[j] = s; else atomicAdd(out + j, s);
    }
}

extern "C" __global__ void argmax_mid(const float* x, i64* out, u64 outer, u64 len, u64 inner) {
    GRID_STRIDE(t, outer * inner) {
        u64 o = t / inner, i = t % inner;
        const float* p = x + o * len * inner + i;
        float best = p[0];
        i64 bi = 0;
        for (u64 l = 1; l < len; l++) {
            float v = p[l * inner];
            if (v > best) { best = v; bi = (i64)l; }
        }
        out[t] = bi;
    }
}

// ---------------------------------------------------------------------------------------------
// Softmax / log-softmax over the last axis (one block per row) and over a middle axis.
// ---------------------------------------------------------------------------------------------

extern "C" __global__ void softmax_rows(const float* x, float* y, u64 rows, u64 len, int log_) {
    for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + r * len;
        float* yr = y + r * len;
        float m = -KINF;
        for (u64 l = threadIdx.x; l < len; l += blockDim.x) m = fmaxf(m, xr[l]);
        m = block_max(m);
        float s = 0.f;
        for (u64 l = threadIdx.x; l < len; l += blockDim.x) s += expf(xr[l] - m);
        s = block_sum(s);
        if (log_) {
            float lse = logf(s);
            for (u64 l = threadIdx.x; l < len; l += blockDim.x) yr[l] = xr[l] - m - lse;
        } else {
            float inv = 1.f / s;
            for (u64 l = threadIdx.x; l < len; l += blockDim.x) yr[l] = expf(xr[l] - m) * inv;
        }
    }
}

extern "C" __global__ void softmax_mid(const float* x, float* y, u64 outer, u64 len, u64 inner, int log_) {
    GRID_STRIDE(t, outer * inner) {
        u64 o = t / inner, i = t % inner;
        const float* p = x + o * len * inner + i;
        float* q = y + o * len * inner + i;
        float m = -KINF;
        for (u64 l = 0; l < len; l++) m = fmaxf(m, p[l * inner]);
        float s = 0.f;
        for (u64 l = 0; l < len; l++) s += expf(p[l * inner] - m);
        if (log_) {
            float lse = logf(s);
            for (u64 l = 0; l < len; l++) q[l * inner] = p[l * inner] - m - lse;
        } else {
            float inv = 1.f / s;
            for (u64 l = 0; l < len; l++) q[l * inner] = expf(p[l * inner] - m) * inv;
        }
    }
}

// softmax: dx = y * (g - sum(g * y)); log_softmax: dx = g - exp(y) * sum(g).
extern "C" __global__ void softmax_bwd_mid(const float* g, const float* y, float* dx, u64 outer, u64 len, u64 inner, int log_) {
    GRID_STRIDE(t, outer * inner) {
        u64 o = t / inner, i = t % inner;
        u64 base = o * len * inner + i;
        float s = 0.f;
        for (u64 l = 0; l < len; l++) {
            u64 k = base + l * inner;
            s += log_ ? g[k] : g[k] * y[k];
        }
        for (u64 l = 0; l < len; l++) {
            u64 k = base + l * inner;
            dx[k] = log_ ? g[k] - expf(y[k]) * s : y[k] * (g[k] - s);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fused losses over rows of the last axis. Each writes the per-row value and the gradient of
// that value with respect to the row (the caller scales it by the upstream gradient).
// ---------------------------------------------------------------------------------------------

// Categorical crossentropy from logits: v = -sum(t * log_softmax(x)); d = softmax(x) - t.
extern "C" __global__ void softmax_xent_rows(const float* x, const float* t, float* v, float* d, u64 rows, u64 len) {
    for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + r * len;
        const float* tr = t + r * len;
        float m = -KINF;
        for (u64 l = threadIdx.x; l < len; l += blockDim.x) m = fmaxf(m, xr[l]);
        m = block_max(m);
        float s = 0.f;
        for (u64 l = threadIdx.x; l < len; l += blockDim.x) s += expf(xr[l] - m);
        s = block_sum(s);
        float lse = logf(s) + m;
        float acc = 0.f;
        for (u64 l = threadIdx.x; l < len; l += blockDim.x) acc += tr[l] * (xr[l] - lse);
        acc = block_sum(acc);
        if (threadIdx.x == 0) v[r] = -acc;
        if (d) {
            for (u64 l = threadIdx.x; l < len; l += blockDim.x) d[r * len + l] = expf(xr[l] - lse) - tr[l];
        }
    }
}

// Categorical crossentropy from probabilities, as Keras's TensorFlow backend: p / sum(p),
// clipped to [eps, 1 - eps]; v = -sum(t * log(p)).
extern "C" __global__ void prob_xent_rows(const float* x, const float* t, float* v, float* d, u64 rows, u64 len,
                                          float eps, float one_m_eps) {
    for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + r * len;
        const float* tr = t + r * len;
        float s = 0.f;
        for (u64 l = threadIdx.x; l < len; l += blockDim.x) s += xr[l];
        s = block_sum(s);
        float acc = 0.f, gdot = 0.f;
        for (u64 l = threadIdx.x; l < len; l += blockDim.x) {
            float p = xr[l] / s;
            float pc = fminf(fmaxf(p, eps), one_m_eps);
            acc += tr[l] * logf(pc);
            // d v / d p_l (zero where clipped), for the normalisation's chain rule.
            float dp = (p >= eps && p <= one_m_eps) ? -tr[l] / pc : 0.f;
            gdot += dp * p;
        }
        acc = block_sum(acc);
        gdot = block_sum(gdot);
        if (threadIdx.x == 0) v[r] = -acc;
        if (d) {
            for (u64 l = threadIdx.x; l < len; l += blockDim.x) {
                float p = xr[l] / s;
                float pc = fminf(fmaxf(p, eps), one_m_eps);
                float dp = (p >= eps && p <= one_m_eps) ? -tr[l] / pc : 0.f;
                d[r * len + l] = (dp - gdot) / s;
            }
        }
    }
}

// Binary crossentropy averaged over each row. From logits: softplus(x) - t * x; from
// probabilities (clipped to [eps, 1-eps]): -(t log p + (1-t) log(1-p)).
extern "C" __global__ void bce_rows(const float* x, const float* t, float* v, float* d, u64 rows, u64 len, int logits,
                                    float eps, float one_m_eps) {
    for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
        float acc = 0.f;
        float inv_n = 1.f / (float)len;
        for (u64 l = threadIdx.x; l < len; l += blockDim.x) {
            u64 k = r * len + l;
            float xv = x[k], tv = t[k], val, dv;
            if (logits) {
                val = fmaxf(xv, 0.f) - xv * tv + log1pf(expf(-fabsf(xv)));
                dv = sigmoidf_(xv) - tv;
            } else {
                float p = fminf(fmaxf(xv, eps), one_m_eps);
                val = -(tv * logf(p) + (1.f - tv) * logf(1.f - p));
                bool inside = xv >= eps && xv <= one_m_eps;
                dv = inside ? -(tv / p - (1.f - tv) / (1.f - p)) : 0.f;
            }
            acc += val;
            if (d) d[k] = dv * inv_n;
        }
        acc = block_sum(acc);
        if (threadIdx.x == 0) v[r] = acc * inv_n;
    }
}

// dx[r, l] = d[r, l] * g[r]: the fused losses' backward.
extern "C" __global__ void scale_rows(const float* d, const float* g, float* dx, u64 rows, u64 len) {
    GRID_STRIDE(i, rows * len) dx[i] = d[i] * g[i / len];
}

// ---------------------------------------------------------------------------------------------
// Pooling (NHWC), TensorFlow's padding: padded positions never win / are not counted.
// ---------------------------------------------------------------------------------------------

struct Pool {
    u64 n, h, w, c, ph, pw, sh, sw, pad_top, pad_left, out_h, out_w;
};

extern "C" __global__ void max_pool_fwd(const float* x, float* y, unsigned int* argmax, Pool g) {
    u64 total = g.n * g.out_h * g.out_w * g.c;
    GRID_STRIDE(i, total) {
        u64 ch = i % g.c, t = i / g.c;
        u64 ow = t % g.out_w; t /= g.out_w;
        u64 oh = t % g.out_h;
        u64 b = t / g.out_h;
        u64 hs = oh * g.sh, ws = ow * g.sw;
        u64 h0 = hs > g.pad_top ? hs - g.pad_top : 0, h1 = min(g.h, hs + g.ph > g.pad_top ? hs + g.ph - g.pad_top : 0);
        u64 w0 = ws > g.pad_left ? ws - g.pad_left : 0, w1 = min(g.w, ws + g.pw > g.pad_left ? ws + g.pw - g.pad_left : 0);
        u64 base = b * g.h * g.w * g.c;
        u64 first = base + (h0 * g.w + w0) * g.c + ch;
        float best = x[first];
        u64 bi = first;
        for (u64 ih = h0; ih < h1; ih++)
            for (u64 iw = w0; iw < w1; iw++) {
                u64 k = base + (ih * g.w + iw) * g.c + ch;
                float v = x[k];
                if (v > best) { best = v; bi = k; }
            }
        y[i] = best;
        argmax[i] = (unsigned int)bi;
    }
}

extern "C" __global__ void max_pool_bwd(const float* gy, const unsigned int* argmax, float* dx, u64 n) {
    GRID_STRIDE(i, n) atomicAdd(dx + argmax[i], gy[i]);
}

extern "C" __global__ void avg_pool_fwd(const float* x, float* y, Pool g) {
    u64 total = g.n * g.out_h * g.out_w * g.c;
    GRID_STRIDE(i, total) {
        u64 ch = i % g.c, t = i / g.c;
        u64 ow = t % g.out_w; t /= g.out_w;
        u64 oh = t % g.out_h;
        u64 b = t / g.out_h;
        u64 hs = oh * g.sh, ws = ow * g.sw;
        u64 h0 = hs > g.pad_top ? hs - g.pad_top : 0, h1 = min(g.h, hs + g.ph > g.pad_top ? hs + g.ph - g.pad_top : 0);
        u64 w0 = ws > g.pad_left ? ws - g.pad_left : 0, w1 = min(g.w, ws + g.pw > g.pad_left ? ws + g.pw - g.pad_left : 0);
        u64 base = b * g.h * g.w * g.c;
        float s = 0.f;
        for (u64 ih = h0; ih < h1; ih++)
            for (u64 iw = w0; iw < w1; iw++) s += x[base + (ih * g.w + iw) * g.c + ch];
        y[i] = s / (float)((h1 - h0) * (w1 - w0));
    }
}

extern "C" __global__ void avg_pool_bwd(const float* gy, float* dx, Pool g) {
    u64 total = g.n * g.out_h * g.out_w * g.c;
    GRID_STRIDE(i, total) {
        u64 ch = i % g.c, t = i / g.c;
        u64 ow = t % g.out_w; t /= g.out_w;
        u64 oh = t % g.out_h;
        u64 b = t / g.out_h;
        u64 hs = oh * g.sh, ws = ow * g.sw;
        u64 h0 = hs > g.pad_top ? hs - g.pad_top : 0, h1 = min(g.h, hs + g.ph > g.pad_top ? hs + g.ph - g.pad_top : 0);
        u64 w0 = ws > g.pad_left ? ws - g.pad_left : 0, w1 = min(g.w, ws + g.pw > g.pad_left ? ws + g.pw - g.pad_left : 0);
        u64 base = b * g.h * g.w * g.c;
        float v = gy[i] / (float)((h1 - h0) * (w1 - w0));
        for (u64 ih = h0; ih < h1; ih++)
            for (u64 iw = w0; iw < w1; iw++) atomicAdd(dx + base + (ih * g.w + iw) * g.c + ch, v);
    }
}

// ---------------------------------------------------------------------------------------------
// Dropout with a counter-based generator (Philox-4x32-10). The 64-bit counter lives in device
// memory and is advanced by `rng_advance` after each use, so a captured CUDA graph draws fresh
// masks on every replay.
// ---------------------------------------------------------------------------------------------

__device__ __forceinline__ uint4 philox(uint4 c, uint2 k) {
    for (int r = 0; r < 10; r++) {
        unsigned int hi0 = __umulhi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
        unsigned int hi1 = __umulhi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
        c = make_uint4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k.x += 0x9E3779B9u;
        k.y += 0xBB67AE85u;
    }
    return c;
}

// mask[i] = u < keep ? scale : 0; y = x * mask.
extern "C" __global__ void dropout_fwd(const float* x, float* y, float* mask, u64 n, float keep, float scale,
                                       const u64* counter, u64 seed) {
    u64 base = *counter;
    GRID_STRIDE(i, (n + 3) / 4) {
        uint4 c = make_uint4((unsigned int)i, (unsigned int)(i >> 32), (unsigned int)base, (unsigned int)(base >> 32));
        uint4 r = philox(c, make_uint2((unsigned int)seed, (unsigned int)(seed >> 32)));
        unsigned int rs[4] = {r.x, r.y, r.z, r.w};
        for (int j = 0; j < 4; j++) {
            u64 k = i * 4 + j;
            if (k < n) {
                float u = (float)(rs[j] >> 8) * (1.0f / 16777216.0f);
                float m = u < keep ? scale : 0.f;
                mask[k] = m;
                y[k] = x[k] * m;
            }
        }
    }
}

extern "C" __global__ void rng_advance(u64* counter) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *counter += 1;
}

// ---------------------------------------------------------------------------------------------
// Fused optimizer updates (one pass over variable, gradient and slots). Step-dependent
// scalars come from device memory (`hyper`), so a captured step replays correctly:
// hyper[0] = learning rate, hyper[1] = iteration count (before this step, as f32).
// ---------------------------------------------------------------------------------------------

extern "C" __global__ void adam_update(float* w, const float* g, float* m, float* v, float* vhat, u64 n,
                                       const float* hyper, float b1, float b2, float eps, float wd) {
    float lr = hyper[0];
    float t = hyper[1] + 1.f;
    float alpha = lr * sqrtf(1.f - powf(b2, t)) / (1.f - powf(b1, t));
    GRID_STRIDE(i, n) {
        float x = w[i];
        if (wd != 0.f) x = x - x * wd * lr;
        float gi = g[i];
        float mi = m[i] + (gi - m[i]) * (1.f - b1);
        float vi = v[i] + (gi * gi - v[i]) * (1.f - b2);
        m[i] = mi;
        v[i] = vi;
        float denom = vi;
        if (vhat) { denom = fmaxf(vhat[i], vi); vhat[i] = denom; }
        w[i] = x - (mi * alpha) / (sqrtf(denom) + eps);
    }
}

// SGD with optional momentum / Nesterov, as Keras.
extern "C" __global__ void sgd_update(float* w, const float* g, float* mom, u64 n, const float* hyper, float momentum,
                                      int nesterov, float wd) {
    float lr = hyper[0];
    GRID_STRIDE(i, n) {
        float x = w[i];
        if (wd != 0.f) x = x - x * wd * lr;
        float gi = g[i];
        if (mom) {
            float mi = momentum * mom[i] - gi * lr;
            mom[i] = mi;
            w[i] = nesterov ? x + momentum * mi - gi * lr : x + mi;
        } else {
            w[i] = x - gi * lr;
        }
    }
}

extern "C" __global__ void add_f32_scalar_at(float* p, float v) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *p += v;
}

// ---------------------------------------------------------------------------------------------
// Casts and gathers.
// ---------------------------------------------------------------------------------------------

extern "C" __global__ void cast_i32_f32(const int* x, float* y, u64 n) { GRID_STRIDE(i, n) y[i] = (float)x[i]; }
extern "C" __global__ void cast_i64_f32(const i64* x, float* y, u64 n) { GRID_STRIDE(i, n) y[i] = (float)x[i]; }

// Embedding lookup: out[r, :] = table[ids[r], :] (ids checked on the host side for range).
extern "C" __global__ void gather_rows_i32(const float* table, const int* ids, float* out, u64 rows, u64 dim) {
    GRID_STRIDE(t, rows * dim) {
        u64 r = t / dim, j = t % dim;
        out[t] = table[(u64)ids[r] * dim + j];
    }
}

extern "C" __global__ void scatter_add_rows_i32(float* table_grad, const int* ids, const float* g, u64 rows, u64 dim) {
    GRID_STRIDE(t, rows * dim) {
        u64 r = t / dim, j = t % dim;
        atomicAdd(table_grad + (u64)ids[r] * dim + j, g[t]);
    }
}

// Transpose of the last two axes of (batch, r, c): out (batch, c, r).
extern "C" __global__ void transpose_last2(const float* x, float* y, u64 batch, u64 r, u64 c) {
    GRID_STRIDE(t, batch * r * c) {
        u64 j = t % c, i = (t / c) % r, b = t / (r * c);
        y[(b * c + j) * r + i] = x[t];
    }
}
