"""``python -m gpucell <command>``: tools for the machine gpucell runs on.

Commands: ``info`` prints the backend in use and what gpucell sees of the GPU (``--json`` for a
machine-readable dict). The demo is a module of its own: ``python -m gpucell.demo``.
"""

from __future__ import annotations

import argparse
import json
import sys


def _info(argv: list[str]) -> int:
    from gpucell.backend.device_info import device_info, format_info

    parser = argparse.ArgumentParser(prog="python -m gpucell info",
                                     description="Print the backend gpucell uses and the GPU it sees.")
    parser.add_argument("--json", action="store_true", help="print the facts as one JSON object")
    args = parser.parse_args(argv)
    info = device_info()
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


COMMANDS = {"info": (_info, "backend, GPU, driver, memory, versions and kernel cache")}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m gpucell <command> [options]\n\ncommands:")
        for name, (_, text) in COMMANDS.items():
            print(f"  {name:<8}{text}")
        print("\nThe demo runs with: python -m gpucell.demo")
        return 0 if argv else 2
    command = COMMANDS.get(argv[0])
    if command is None:
        print(f"python -m gpucell: unknown command {argv[0]!r}; expected one of "
              f"{', '.join(COMMANDS)}.", file=sys.stderr)
        return 2
    return command[0](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
