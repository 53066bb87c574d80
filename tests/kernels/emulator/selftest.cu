// Kernels that pin down the emulator's model of CUDA (tests/kernels/test_kernels_emulator.py).

__global__ void shuffle_down(const int* in, int* out, int delta) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    out[t] = __shfl_down_sync(0xffffffffu, in[t], delta);
}

__global__ void shuffle_xor(const int* in, int* out, int lane_mask) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    out[t] = __shfl_xor_sync(0xffffffffu, in[t], lane_mask);
}

// Reverses each block's slice through shared memory: wrong without the barrier.
__global__ void reverse_blocks(const float* in, float* out) {
    __shared__ float tile[1024];
    const int t = threadIdx.x, base = blockIdx.x * blockDim.x;
    tile[t] = in[base + t];
    __syncthreads();
    out[base + t] = tile[blockDim.x - 1 - t];
}

// Writes each thread's coordinates: a 3-D grid of 3-D blocks.
__global__ void coordinates(int* out) {
    const int block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    const int thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    int* o = out + 6 * (block * blockDim.x * blockDim.y * blockDim.z + thread);
    o[0] = blockIdx.x; o[1] = blockIdx.y; o[2] = blockIdx.z; o[3] = threadIdx.x; o[4] = threadIdx.y; o[5] = threadIdx.z;
}

// Half the warp shuffles while the other half waits at the block barrier: a deadlock.
__global__ void deadlock(int* out) {
    if (threadIdx.x < 16) out[threadIdx.x] = __shfl_down_sync(0xffffffffu, 1, 1);
    else __syncthreads();
}
