#!/usr/bin/env bash
# Seeds the fuzz corpora with real files: the Keras-written reference cases, the tf.keras
# fixtures, and the regression inputs. Run from the repository root:
#   bash fuzz/seed.sh && cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run load_keras -- -max_total_time=300
# (after `cargo run --release --example make_seeds` in fuzz/ for seeds matching the target model)
set -euo pipefail
root=crates/keras/tests/fixtures
mkdir -p fuzz/corpus/{load_keras,load_h5,load_weights,model_config_json,load_npy_image}
for d in "$root"/oracle/saved_model/*/; do
  n=$(basename "$d")
  cp "$d/model.keras" "fuzz/corpus/load_keras/$n.keras"
  cp "$d/model.h5" "fuzz/corpus/load_h5/$n.h5"
  cp "$d/model.weights.h5" "fuzz/corpus/load_weights/$n.weights.h5"
  python3 -c "import zipfile,sys; sys.stdout.buffer.write(zipfile.ZipFile('$d/model.keras').read('config.json'))" \
    > "fuzz/corpus/model_config_json/$n.json"
done
cp "$root"/saving/tf2_*.h5 fuzz/corpus/load_h5/
cp "$root"/saving/tf2_*weights*.h5 fuzz/corpus/load_weights/
# .npy arrays and images (small ones: libFuzzer grows inputs up to the largest seed). The
# image seeds get a leading knob byte (colour mode, target size, interpolation).
find "$root" -name '*.npy' -size -16k | head -40 | while read -r f; do
  cp "$f" "fuzz/corpus/load_npy_image/npy_$(echo "$f" | tr '/' '_')"
done
find "$root" \( -name '*.png' -o -name '*.jpg' -o -name '*.jpeg' \) -size -32k | head -20 | while read -r f; do
  { printf '\x85'; cat "$f"; } > "fuzz/corpus/load_npy_image/img_$(echo "$f" | tr '/' '_')"
done
