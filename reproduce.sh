#!/usr/bin/env bash
# Reproduce a thesis chapter headless: runs its notebook with papermill and writes the
# executed notebook, tables (CSV + markdown) and figures under results/<chapter>/<profile>/.
# It does not install anything (see README: set up the environment first).
# Rerunning continues an interrupted run: finished result rows and sets are reused.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./reproduce.sh NAME [--profile smoke|cpu|paper] [--device auto|cpu|cuda] [--data-root DIR]
       ./reproduce.sh chapter3|chapter4|chapter5|chapter5_analyses [...] --jobs N | --gpus 0,1 | --slurm [SLURM OPTIONS] | --aggregate

Names:
  quickstart DM at 10 images per class on MNIST against random real images (cpu: ~4 min)
             notebook: notebooks/00_quickstart.ipynb
  chapter3   gradient matching (DC) and coreset baselines: Tables 3.1, 3.2, A.T1-A.T9,
             Figures 3.2, 3.3, A.F2, A.F3; notebook: notebooks/03_gradient_matching.ipynb
  chapter4   differentiable Siamese augmentation (DSA): Tables 4.1-4.5 (4.2: CIFAR100),
             Figures 4.2, 4.5, 4.6; notebook: notebooks/04_siamese_augmentation.ipynb
             (reuses chapter 3's coreset and DC rows of the same profile when they exist)
  chapter5   distribution matching (DM): Tables 5.1, 5.2, Figures 5.2, 5.5, ImageNet-1K (section 5.3.2)
             notebook: notebooks/05_distribution_matching.ipynb
  chapter5_analyses  chapter 5's analyses: Tables 5.3, 5.4, B.T1, Figures 5.3, 5.4, B.F2; writes into
             results/chapter5/<profile>/ (reuses chapter 5's Table 5.1 rows; run chapters 3-5 first)
             notebook: notebooks/10_dm_analyses.ipynb
  own_data   a folder of images condensed and evaluated (a USPS demo folder; cpu: ~10 min)
             notebook: notebooks/06_your_own_data.ipynb
  continual  continual learning with condensed memories: E2E/EEIL (Figs. 3.4, 4.3) and GDumb
             (Figs. 5.6, 5.7); cpu: substitute streams; notebook: notebooks/07_continual_learning.ipynb
  nas        architecture search with proxy sets (Tables 3.4, 4.6, 5.5); cpu: a sample of the space on
             FashionMNIST; notebook: notebooks/08_architecture_search.ipynb
  distillation  DC vs Dataset Distillation (DD) in DD's setting: Tables 3.3, A.T10, A.T11, Figure A.F4;
             cpu: MNIST/LeNet (33 min, measured); notebook: notebooks/09_dataset_distillation.ipynb

Profiles:
  smoke   seconds; checks that everything runs (numbers are meaningless)
  cpu     reduced protocol for a 2-core CPU, about 1.5-2 hours per chapter (default)
  paper   the thesis protocol; needs a GPU box (many GPU-hours)

Options:
  --device     auto (CUDA if available, default), cpu or cuda
  --data-root  folder with the datasets (.npz files or torchvision data);
               default: $DC_DATA_ROOT, else ./data

Scale-out (chapter3, chapter4, chapter5, chapter5_analyses; README: "The paper profile at scale"): every table cell is a
job (cells sharing a set go together), run once; then the notebook only reads the rows (AGGREGATE_ONLY).
  --jobs N       N worker processes on this machine: one per GPU on CUDA (the first N), else one per
                 CPU core at most, each with cores/N torch threads
  --gpus 0,1     the GPUs to use, one worker each
  --per-gpu K    K workers on each of those GPUs (default 1): packs small jobs onto a large GPU
  --slurm        one Slurm array element per job (needs sbatch and submitit: pip install -e ".[slurm]");
                 prints the command that renders the tables once the array has finished
    --partition P      --time T (per element; minutes or HH:MM:SS, default 24:00:00)
    --gpus-per-job G   (default 1)    --wait (wait for the array, then render the tables)
  --aggregate    only render the tables and figures from the rows the jobs wrote
Finished jobs are skipped on a rerun (results/<chapter>/<profile>/jobs/<id>.done) while their rows are
there at the budgets the code gives their cells; an interrupted one reruns from its recorded sets and its
condensation checkpoint.

Outputs: results/<chapter>/<profile>/ (executed notebook, table_*.md, table_*_rows.csv,
table_*_summary.csv, results.csv, figure_*.png, synsets/; chapter5_analyses: results/chapter5/<profile>/).
Exit status is non-zero on any failure.
USAGE
}

# Every usage mistake is one line on stderr and exit 2, before anything is created.
die() { echo "error: $*" >&2; exit 2; }
need_value() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value (./reproduce.sh --help)"; }

chapter="" profile="cpu" device="auto" data_root="${DC_DATA_ROOT:-}" data_root_from="DC_DATA_ROOT"
jobs="" gpus="" per_gpu="" slurm="" aggregate="" wait="" slurm_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --profile) need_value "$@"; profile="$2"; shift 2 ;;
    --device) need_value "$@"; device="$2"; shift 2 ;;
    --data-root) need_value "$@"; data_root="$2"; data_root_from="--data-root"; shift 2 ;;
    --jobs) need_value "$@"; jobs="$2"; shift 2 ;;
    --gpus) need_value "$@"; gpus="$2"; shift 2 ;;
    --per-gpu) need_value "$@"; per_gpu="$2"; shift 2 ;;
    --partition|--time|--gpus-per-job) need_value "$@"; slurm_args+=("$1" "$2"); shift 2 ;;
    --slurm) slurm=1; shift ;;
    --wait) wait=1; shift ;;
    --aggregate) aggregate=1; shift ;;
    --profile=*|--device=*|--data-root=*|--jobs=*|--gpus=*|--per-gpu=*|--partition=*|--time=*|--gpus-per-job=*)
      set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    chapter*|quickstart|own_data|continual|nas|distillation)
      [[ -z "$chapter" ]] || die "name one chapter, not '$chapter' and '$1' (run ./reproduce.sh once per chapter)"
      chapter="$1"; shift ;;
    *) die "unknown argument '$1' (./reproduce.sh --help)" ;;
  esac
done

case "$chapter" in
  chapter3) notebook="03_gradient_matching" ;;
  chapter4) notebook="04_siamese_augmentation" ;;
  chapter5) notebook="05_distribution_matching" ;;
  chapter5_analyses) notebook="10_dm_analyses" ;;
  quickstart) notebook="00_quickstart" ;;
  own_data) notebook="06_your_own_data" ;;
  continual) notebook="07_continual_learning" ;;
  nas) notebook="08_architecture_search" ;;
  distillation) notebook="09_dataset_distillation" ;;
  "") die "name a chapter: quickstart, chapter3, chapter4, chapter5, chapter5_analyses, own_data, continual, nas or distillation (./reproduce.sh --help)" ;;
  *) die "unknown chapter '$chapter' (available: quickstart, chapter3, chapter4, chapter5, chapter5_analyses, own_data, continual, nas, distillation)" ;;
esac
case "$profile" in smoke|cpu|paper) ;; *) die "unknown profile '$profile' (smoke, cpu, paper)" ;; esac
case "$device" in auto|cpu|cuda) ;; *) die "unknown device '$device' (auto, cpu, cuda)" ;; esac

# Scale-out options: which backend runs the chapter's jobs ("" = the notebook computes everything itself).
backend=""
[[ -n "$jobs" || -n "$gpus" ]] && backend="pool"
if [[ -n "$slurm" ]]; then
  [[ -z "$backend" ]] || die "--slurm runs each job as an array element: leave out --jobs and --gpus"
  backend="slurm"
fi
if [[ -z "$slurm" && ( ${#slurm_args[@]} -gt 0 || -n "$wait" ) ]]; then
  die "--partition, --time, --gpus-per-job and --wait go with --slurm"
fi
[[ -z "$aggregate" || -z "$backend" ]] || die "--aggregate only renders what the jobs wrote: leave out --jobs, --gpus and --slurm"
if [[ -n "$backend" || -n "$aggregate" ]]; then
  case "$chapter" in chapter3|chapter4|chapter5|chapter5_analyses) ;;
    *) die "--jobs, --gpus, --slurm and --aggregate are for chapter3, chapter4, chapter5 and chapter5_analyses, not $chapter" ;; esac
fi
if [[ -n "$jobs" ]] && ! [[ "$jobs" =~ ^[1-9][0-9]*$ ]]; then die "--jobs must be a whole number of workers, 1 or more, got '$jobs'"; fi
if [[ -n "$per_gpu" ]]; then
  [[ "$backend" == pool ]] || die "--per-gpu goes with --jobs or --gpus (the pool of workers on this machine)"
  [[ "$per_gpu" =~ ^[1-9][0-9]*$ ]] || die "--per-gpu must be a whole number of workers per GPU, 1 or more, got '$per_gpu'"
fi
if [[ -n "$slurm" ]] && ! command -v sbatch >/dev/null 2>&1; then
  die "--slurm, but there is no sbatch on PATH: run this on a Slurm login node"
fi

# The data root, absolute: the notebook kernel runs in notebooks/, where a relative path would point
# elsewhere. One that was named must exist; the default ./data may not yet (torchvision fills it online).
if [[ -n "$data_root" ]]; then
  [[ -e "$data_root" ]] || die "data root '$data_root' ($data_root_from) does not exist"
  [[ -d "$data_root" ]] || die "data root '$data_root' ($data_root_from) is not a directory"
  data_root="$(cd "$data_root" && pwd)"
else
  data_root="$PWD/data"
fi
export DC_DATA_ROOT="$data_root"

if ! python -c "import dc_lib, papermill" 2>/dev/null; then
  echo "error: dc_lib or papermill is not importable; set up the environment first (README: Setup)" >&2
  exit 3
fi
if [[ "$device" == cuda ]] && ! python -c "import sys, torch; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
  die "--device cuda, but CUDA is not available to this Python's torch; use --device cpu (or auto)"
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Chapter 5's analyses are chapter 5's tables: they go into its folder, beside the rows they reuse.
out="$root/results/${chapter%_analyses}/$profile"
args=(-k python3 --cwd "$root/notebooks" -p PROFILE "$profile" -p DEVICE "$device" -p RESULTS_DIR "$root/results"
      -p DATA_ROOT "$data_root")

if [[ -n "$backend" ]]; then
  # The jobs first (dc_lib.runs.jobs); the command checks the workers against the GPUs or cores, the GPU
  # indices and Slurm before it writes anything (one error: line, exit 2).
  job_args=("$chapter" --profile "$profile" --device "$device" --data-root "$data_root" --out "$out")
  [[ "$chapter" == chapter4 ]] && job_args+=(--reuse-from "$root/results/chapter3/$profile")
  [[ -n "$jobs" ]] && job_args+=(--jobs "$jobs")
  [[ -n "$gpus" ]] && job_args+=(--gpus "$gpus")
  [[ -n "$per_gpu" ]] && job_args+=(--per-gpu "$per_gpu")
  [[ -n "$slurm" ]] && job_args+=(--slurm "${slurm_args[@]}")
  [[ -n "$wait" ]] && job_args+=(--wait)
  echo "Running the jobs of $chapter with profile=$profile ($backend) -> $out"
  python -m dc_lib jobs "${job_args[@]}"
  # Without --wait the array is only submitted: the tables come with --aggregate once it has finished.
  [[ "$backend" == slurm && -z "$wait" ]] && exit 0
  aggregate=1
fi
[[ -n "$aggregate" ]] && args+=(-p AGGREGATE_ONLY True)
mkdir -p "$out"

# The notebooks whose default is a longer run read their profile from DC_PROFILE when it is set
# (dc_lib.core.config.notebook_profile); an inherited value must not override --profile.
export DC_PROFILE="$profile"
echo "Running $chapter ($notebook) with profile=$profile device=$device data root=$data_root -> $out"
start=$(date +%s)
python -m papermill "$root/notebooks/$notebook.ipynb" "$out/$notebook.ipynb" "${args[@]}"
# The copy says which run it holds (the notebook's own note says its stored outputs are a smoke run).
python -m dc_lib.runs.executed_copy "$out/$notebook.ipynb" --profile "$profile" --command "./reproduce.sh $chapter --profile $profile"
echo "Done in $(( $(date +%s) - start )) s. Tables: $out/table_*.md  Figures: $out/figure_*.png"
if grep -qs "data not available" "$out"/table_*.md; then
  echo "Some cells read 'data not available': their datasets are not in $data_root (see the tables for which)."
fi
