#!/usr/bin/env bash
# Reproduce a thesis chapter headless: runs its notebook with papermill and writes the
# executed notebook, tables (CSV + markdown) and figures under results/<chapter>/<profile>/.
# It does not install anything (see README: set up the environment first).
# Rerunning continues an interrupted run: finished result rows and sets are reused.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./reproduce.sh CHAPTER [--profile smoke|cpu|paper] [--device auto|cpu|cuda] [--data-root DIR]

Chapters:
  chapter3   gradient matching (DC) and coreset baselines: Tables 3.1, 3.2, A.T2-A.T8,
             Figures 3.2, 3.3; notebook: notebooks/03_gradient_matching.ipynb
  chapter4   differentiable Siamese augmentation (DSA): Tables 4.1-4.5 (4.2: CIFAR100),
             Figures 4.2, 4.5, 4.6; notebook: notebooks/04_siamese_augmentation.ipynb
             (reuses chapter 3's coreset and DC rows of the same profile when they exist)
  chapter5   distribution matching (DM): Tables 5.1, 5.2, Figures 5.2, 5.5
             notebook: notebooks/05_distribution_matching.ipynb

Profiles:
  smoke   seconds; checks that everything runs (numbers are meaningless)
  cpu     reduced protocol for a 2-core CPU, about 1.5-2 hours per chapter (default)
  paper   the thesis protocol; needs a GPU box (many GPU-hours)

Options:
  --device     auto (CUDA if available, default), cpu or cuda
  --data-root  folder with the datasets (.npz files or torchvision data);
               default: $DC_DATA_ROOT, else ./data

Outputs: results/<chapter>/<profile>/ (executed notebook, table_*.md, table_*_rows.csv,
table_*_summary.csv, results.csv, figure_*.png, synsets/). Exit status is non-zero on any failure.
USAGE
}

chapter="" profile="cpu" device="auto" data_root="${DC_DATA_ROOT:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --profile) profile="${2:?--profile needs a value}"; shift 2 ;;
    --device) device="${2:?--device needs a value}"; shift 2 ;;
    --data-root) data_root="${2:?--data-root needs a value}"; shift 2 ;;
    chapter*) chapter="$1"; shift ;;
    *) echo "error: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

case "$chapter" in
  chapter3) notebook="03_gradient_matching" ;;
  chapter4) notebook="04_siamese_augmentation" ;;
  chapter5) notebook="05_distribution_matching" ;;
  "") echo "error: name a chapter" >&2; usage >&2; exit 2 ;;
  *) echo "error: unknown chapter '$chapter' (available: chapter3, chapter4, chapter5)" >&2; exit 2 ;;
esac
case "$profile" in smoke|cpu|paper) ;; *) echo "error: unknown profile '$profile' (smoke, cpu, paper)" >&2; exit 2 ;; esac
case "$device" in auto|cpu|cuda) ;; *) echo "error: unknown device '$device' (auto, cpu, cuda)" >&2; exit 2 ;; esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$root/results/$chapter/$profile"
mkdir -p "$out"
if ! python -c "import dc_lib, papermill" 2>/dev/null; then
  echo "error: dc_lib or papermill is not importable; set up the environment first (README: Setup)" >&2
  exit 3
fi

args=(-k python3 --cwd "$root/notebooks" -p PROFILE "$profile" -p DEVICE "$device" -p RESULTS_DIR "$root/results")
[[ -n "$data_root" ]] && args+=(-p DATA_ROOT "$(cd "$data_root" && pwd)")

echo "Running $chapter ($notebook) with profile=$profile device=$device -> $out"
start=$(date +%s)
python -m papermill "$root/notebooks/$notebook.ipynb" "$out/$notebook.ipynb" "${args[@]}"
echo "Done in $(( $(date +%s) - start )) s. Tables: $out/table_*.md  Figures: $out/figure_*.png"
