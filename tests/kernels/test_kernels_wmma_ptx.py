"""What kernels/wmma.cuh's hand-written PTX must be for a GPU to compute right, checked without one.

The host emulator replaces wmma.cuh with its own model of the fragments, so the kernel tests never
run this PTX; a wrong layout qualifier, shape, type, operand order, register count or stride unit
would pass every emulated test and give wrong numbers on the first GPU. These tests compile
kernels/matmul_tc.cu with CuPy's NVRTC (what a user's GPU runs; no GPU needed) and read its PTX:

* every wmma instruction is spelled as the PTX ISA defines it for the operand type (9.7.14.5.x,
  wmma.load / wmma.mma / wmma.store), names the .shared state space, and carries the ISA's
  fragment sizes: float16 A/B eight .f16x2 registers, bfloat16 A/B four .b32, TF32 (m16n16k8)
  A/B four .b32, float accumulators eight .f32;
* the stride operand is the staging pitch in ELEMENTS (the ISA counts matrix elements, not bytes);
* data flow: each mma's A operand is a wmma.load.a's registers in order (through the TF32
  rounding), B likewise, C the previous mma's D or zeros, and each store writes an mma's D.

Where a full CUDA toolkit is installed (nvcc with crt/mma.h, which pip's headers lack), the same
kernel built over mma.h itself must give the same wmma instruction sequence, and (with nvdisasm)
the SASS must use the tensor-core and ldmatrix instructions.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

import gpucell.backend.kernel_ops  # noqa: F401 - registers every instantiation
from gpucell.backend import kernels
from gpucell.backend.kernel_ops import matmul

cupy = pytest.importorskip("cupy")
FILE = "matmul_tc.cu"
ARCHS = ("80", "90")

# Per operand type: the instruction spellings the PTX ISA gives (layout, shape, state space, types)
# and each fragment's register count (A, B, C/D).
SPELLINGS = {
    "gc_half": ({"wmma.load.a.sync.aligned.row.m16n16k16.shared.f16",
                 "wmma.load.b.sync.aligned.col.m16n16k16.shared.f16",
                 "wmma.mma.sync.aligned.row.col.m16n16k16.f32.f32",
                 "wmma.store.d.sync.aligned.row.m16n16k16.shared.f32"}, 8),
    "gc_bfloat16": ({"wmma.load.a.sync.aligned.row.m16n16k16.shared.bf16",
                     "wmma.load.b.sync.aligned.col.m16n16k16.shared.bf16",
                     "wmma.mma.sync.aligned.row.col.m16n16k16.f32.bf16.bf16.f32",
                     "wmma.store.d.sync.aligned.row.m16n16k16.shared.f32"}, 4),
    "float": ({"wmma.load.a.sync.aligned.row.m16n16k8.shared.tf32",
               "wmma.load.b.sync.aligned.col.m16n16k8.shared.tf32",
               "wmma.mma.sync.aligned.row.col.m16n16k8.f32.tf32.tf32.f32",
               "wmma.store.d.sync.aligned.row.m16n16k8.shared.f32"}, 4),
}
ITEMSIZE = {"gc_half": 2, "gc_bfloat16": 2, "float": 4}
BK = {"gc_half": matmul._TC_BK[matmul._F16], "gc_bfloat16": matmul._TC_BK[matmul._F16],
      "float": matmul._TC_BK[matmul._F32]}
INSTRUCTION = re.compile(r"^\s*(?:@!?%p\d+\s+)?([a-z][\w.:]*)\s*(.*?);\s*$")


def _nvrtc_ptx(source: str, expressions, arch: str) -> str:
    from cupy._core import core
    from cupy.cuda import nvrtc

    prog = nvrtc.createProgram(source, FILE, [], [])
    try:
        for expression in expressions:
            nvrtc.addNameExpression(prog, expression)
        options = [*core.assemble_cupy_compiler_options(kernels.COMPILE_OPTIONS), f"-arch=compute_{arch}",
                   "--device-as-default-execution-space"]
        try:
            nvrtc.compileProgram(prog, options)
        except nvrtc.NVRTCError as exc:
            pytest.fail(f"NVRTC failed on kernels/{FILE}: {exc}\n{nvrtc.getProgramLog(prog)}")
        ptx = nvrtc.getPTX(prog)
        return (ptx.decode() if isinstance(ptx, bytes) else ptx).rstrip("\0")
    finally:
        nvrtc.destroyProgram(prog)


@pytest.fixture(scope="module", params=ARCHS, ids=lambda a: f"sm_{a}")
def entries(request):
    """{operand type: [(entry name, [(opcode, operands)])]} of matmul_tc.cu's PTX for one arch."""
    try:
        ptx = _nvrtc_ptx(kernels.source(FILE), kernels.name_expressions(FILE), request.param)
    except (ImportError, RuntimeError, OSError) as exc:  # no NVRTC or no CUDA headers: nothing to compile with
        pytest.skip(f"NVRTC cannot compile here ({type(exc).__name__}: {exc})")
    return _entries(ptx)


def _entries(ptx: str):
    parts = re.split(r"^\.(?:weak|visible) \.entry (\w+)\(", ptx, flags=re.MULTILINE)
    out: dict[str, list] = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        dtype = re.match(r"_Z9matmul_tcI(7gc_half|11gc_bfloat16|f)", name)
        assert dtype is not None, name
        key = {"7gc_half": "gc_half", "11gc_bfloat16": "gc_bfloat16", "f": "float"}[dtype.group(1)]
        lines = [INSTRUCTION.match(line) for line in body.splitlines()]
        out.setdefault(key, []).append((name, [(m.group(1), m.group(2)) for m in lines if m]))
    assert set(out) == set(SPELLINGS) and all(len(v) == len(matmul.TC_TILES) for v in out.values()), list(out)
    return out


def _vectors(operands: str) -> list[list[str]]:
    return [v.replace(" ", "").split(",") for v in re.findall(r"\{([^}]*)\}", operands)]


def test_spellings_and_state_space_follow_the_ptx_isa(entries):
    for dtype, kernels_of_type in entries.items():
        expected, _ = SPELLINGS[dtype]
        for name, body in kernels_of_type:
            used = {op for op, _ in body if op.startswith("wmma.")}
            assert used == expected, f"{name}: {sorted(used ^ expected)}"


def test_fragment_register_counts_and_classes(entries):
    for dtype, kernels_of_type in entries.items():
        _, ab = SPELLINGS[dtype]
        for name, body in kernels_of_type:
            for op, operands in body:
                vectors = _vectors(operands)
                if op.startswith("wmma.load."):
                    assert len(vectors) == 1 and len(vectors[0]) == ab, (name, op, operands)
                    assert all(r.startswith("%r") for r in vectors[0]), (name, operands)  # .b32 / .f16x2
                elif op.startswith("wmma.mma."):
                    d, a, b, c = vectors
                    assert (len(d), len(a), len(b), len(c)) == (8, ab, ab, 8), (name, operands)
                    assert all(r.startswith("%f") for r in d + c) and all(r.startswith("%r") for r in a + b)
                elif op.startswith("wmma.store."):
                    assert len(vectors) == 1 and len(vectors[0]) == 8, (name, operands)
                    assert all(r.startswith("%f") for r in vectors[0])


def test_strides_are_counted_in_elements(entries):
    """The loads' stride is the staging pitch, BK plus a 16-byte pad, in elements (a pitch in bytes
    would be 2x or 4x that), a multiple of 16 bytes; the scratch store's is its 16 columns."""
    for dtype, kernels_of_type in entries.items():
        pitch = BK[dtype] + 16 // ITEMSIZE[dtype]
        for name, body in kernels_of_type:
            constants = {}
            strides = {"load": set(), "store": set()}
            for op, operands in body:
                move = re.fullmatch(r"(%r\d+),\s*(\d+)", operands) if op.startswith("mov.") else None
                if move:
                    constants[move.group(1)] = int(move.group(2))
                if op.startswith("wmma.load.") or op.startswith("wmma.store."):
                    stride = operands.rsplit(",", 1)[1].strip()
                    strides[op.split(".")[1]].add(constants.get(stride, int(stride) if stride.isdigit() else stride))
            assert strides == {"load": {pitch}, "store": {16}}, (name, strides)
            assert pitch * ITEMSIZE[dtype] % 16 == 0


def test_operands_flow_from_the_right_loads(entries):
    """Traces every register back through mov / cvt to the instruction that produced it: mma's A is
    one wmma.load.a's registers in order, B one wmma.load.b's, C the zeros or an earlier mma's D in
    order, and every store writes one mma's D in order. A swapped a / b, a permuted or repeated
    register, or an accumulator that is not carried would break one of these."""
    for _, kernels_of_type in entries.items():
        for name, body in kernels_of_type:
            origin: dict[str, tuple] = {}
            counts = {"mma": 0, "store": 0}
            for index, (op, operands) in enumerate(body):
                vectors = _vectors(operands)
                if op.startswith("wmma.load."):
                    for position, register in enumerate(vectors[0]):
                        origin[register] = (op.split(".")[2], index, position)  # "a" or "b"
                elif op.startswith("wmma.mma."):
                    d, a, b, c = vectors
                    for fragment, kind in ((a, "a"), (b, "b")):
                        sources = [origin.get(r) for r in fragment]
                        assert {s[:2] for s in sources if s} == {(kind, sources[0][1])} and None not in sources, \
                            (name, op, kind, sources)
                        assert [s[2] for s in sources] == list(range(len(fragment))), (name, kind, sources)
                    _assert_accumulator(name, [origin.get(r) for r in c], zeros_allowed=True)
                    for position, register in enumerate(d):
                        origin[register] = ("d", index, position)
                    counts["mma"] += 1
                elif op.startswith("wmma.store."):
                    _assert_accumulator(name, [origin.get(r) for r in vectors[0]], zeros_allowed=False)
                    counts["store"] += 1
                else:
                    _follow(op, operands, origin)
            assert counts["mma"] and counts["store"], (name, counts)


def _follow(op: str, operands: str, origin: dict) -> None:
    """A mov or cvt passes its source's origin on; a zero constant is ("zero",); anything else
    that writes a register forgets it."""
    parts = [p.strip() for p in operands.split(",")]
    if not parts or not re.fullmatch(r"%\w+", parts[0]):
        return
    dest = parts[0]
    if (op.startswith("mov.") or op.startswith("cvt.")) and len(parts) == 2:
        if parts[1] in origin:
            origin[dest] = origin[parts[1]]
            return
        if parts[1] in ("0f00000000", "0"):
            origin[dest] = ("zero",)
            return
    origin.pop(dest, None)


def _assert_accumulator(name: str, sources: list, zeros_allowed: bool) -> None:
    if zeros_allowed and all(s == ("zero",) for s in sources):
        return
    assert None not in sources and {s[:2] for s in sources} == {("d", sources[0][1])}, (name, sources)
    assert [s[2] for s in sources] == list(range(8)), (name, sources)


# ---- with a full CUDA toolkit: against mma.h itself, and the SASS -------------------------------

NVCC = shutil.which("nvcc")
NVDISASM = shutil.which("nvdisasm")
MMA_H_SHIM = """#include <mma.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
typedef __half gc_wmma_half;
typedef __nv_bfloat16 gc_wmma_bfloat16;
namespace gc_wmma = nvcuda::wmma;
"""


def _instantiating(source: str) -> str:
    refs = ",\n".join(f"    (void*)&{e}" for e in kernels.name_expressions(FILE))
    return f"{source}\nvoid* gpucell_instantiations[] = {{\n{refs}\n}};\n"


def _over_mma_h(source: str) -> str:
    """matmul_tc.cu with the inlined wmma.cuh replaced by mma.h (as the emulator branch does)."""
    start = source.index("// gc_wmma: the part of nvcuda::wmma")
    end_marker = "}  // namespace gc_wmma\n#endif"
    end = source.index(end_marker, start) + len(end_marker)
    return source[:start] + MMA_H_SHIM + source[end:]


def _nvcc(tmp_path, name: str, source: str, *options: str) -> subprocess.CompletedProcess:
    path = tmp_path / name
    path.write_text(source)
    return subprocess.run([NVCC, *kernels.COMPILE_OPTIONS, *options, str(path), "-o", str(path) + ".out"],
                          capture_output=True, text=True)


@pytest.mark.skipif(NVCC is None, reason="nvcc is not on PATH")
def test_same_wmma_instructions_as_mma_h(tmp_path):
    source = _instantiating(kernels.source(FILE))
    probe = _nvcc(tmp_path, "probe.cu", "#include <mma.h>\n", "-ptx", "-arch=sm_80")
    if probe.returncode:
        pytest.skip(f"this CUDA toolkit cannot compile mma.h: {probe.stderr.strip()[-200:]}")
    sequences = []
    for name, text in (("ours.cu", source), ("mma_h.cu", _over_mma_h(source))):
        result = _nvcc(tmp_path, name, text, "-ptx", "-arch=sm_80")
        assert result.returncode == 0, result.stderr
        ptx = (tmp_path / f"{name}.out").read_text()
        parts = re.split(r"^\.(?:weak|visible) \.entry (\w+)\(", ptx, flags=re.MULTILINE)
        # mma.h leaves some addresses generic where wmma.cuh names .shared: compare without it.
        sequences.append({entry: [m.group(1).replace(".shared", "").replace(".global", "")
                                  for m in map(INSTRUCTION.match, body.splitlines())
                                  if m and m.group(1).startswith(("wmma.", "cvt.rna.tf32"))]
                          for entry, body in zip(parts[1::2], parts[2::2])})
    ours, reference = sequences
    assert ours.keys() == reference.keys() and len(ours) == len(kernels.name_expressions(FILE))
    for entry in ours:
        assert ours[entry] == reference[entry], entry


@pytest.mark.skipif(NVCC is None or NVDISASM is None, reason="nvcc and nvdisasm are needed for the SASS")
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_sass_runs_on_tensor_cores_from_shared_memory(tmp_path, arch):
    result = _nvcc(tmp_path, "tc.cu", _instantiating(kernels.source(FILE)), "-cubin", f"-arch={arch}")
    assert result.returncode == 0, result.stderr
    sass = subprocess.run([NVDISASM, "-c", str(tmp_path / "tc.cu.out")], capture_output=True, text=True)
    assert sass.returncode == 0, sass.stderr
    functions = re.split(r"^//-+ \.text\.(\w+) -+$", sass.stdout, flags=re.MULTILINE)
    hmma = {"gc_half": "HMMA.16816.F32 ", "gc_bfloat16": "HMMA.16816.F32.BF16 ", "float": "HMMA.1684.F32.TF32 "}
    for name, code in zip(functions[1::2], functions[2::2]):
        dtype = "gc_half" if "gc_half" in name else "gc_bfloat16" if "gc_bfloat16" in name else "float"
        assert hmma[dtype] in code, name
        if dtype != "float":
            assert "LDSM.16.M88.4" in code, name  # ldmatrix: wmma.load from .shared
        # Shared-memory traffic is LDS / STS / LDSM, never generic LD / ST.
        assert not re.search(r"\s(LD|ST)\.E", code), name
