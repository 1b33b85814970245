//! Preprocessing cases of the legacy tf-keras helpers (`hashing_trick`, `one_hot`,
//! `make_sampling_table`, `skipgrams`) and `pad_sequences` on sequences of vectors.

use keras::preprocessing::text::{hashing_trick, one_hot, python_str_hash, HashFunction};
use keras::preprocessing::{
    make_sampling_table, pad_sequences_nd, skipgrams, PadSequencesArgs, SkipgramsArgs,
};
use keras::utils::python_random::PyRandom;
use keras::{DType, Tensor};
use serde_json::Value;

use crate::common::{compare, compare_values, Case, Check, Outcome};

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_u64).collect()).unwrap_or_default()
}

fn check(case: &Case) -> Check {
    let p = &case.json["params"];
    let calls = case.json["calls"].as_array().cloned().unwrap_or_default();
    match case.json["function"].as_str().unwrap_or("") {
        "tf_keras.preprocessing.text.hashing_trick" => {
            let (n, filters) = (p["n"].as_u64().unwrap_or(2) as usize, p["filters"].as_str().unwrap_or(""));
            for c in &calls {
                let got = hashing_trick(
                    c["text"].as_str().unwrap_or(""),
                    n,
                    HashFunction::Md5,
                    filters,
                    p["lower"] == true,
                    " ",
                )
                .map_err(|e| e.to_string())?;
                if got != u64s(&c["result"]) {
                    return Err(format!("hashing_trick {got:?}, Keras {}", c["result"]));
                }
            }
        }
        "tf_keras.preprocessing.text.one_hot" => {
            let (n, seed) =
                (p["n"].as_u64().unwrap_or(2) as usize, p["hash_seed"].as_u64().unwrap_or(0) as u32);
            for c in &calls {
                let words: Vec<&str> =
                    c["words"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                let want: Vec<i64> =
                    c["python_hashes"].as_array().into_iter().flatten().filter_map(Value::as_i64).collect();
                let got: Vec<i64> = words.iter().map(|w| python_str_hash(w, seed)).collect();
                if got != want {
                    return Err(format!("Python hashes of {words:?}: {got:?}, Python {want:?}"));
                }
                let text = c["text"].as_str().unwrap_or("");
                let got = one_hot(text, n, seed, keras::preprocessing::text::DEFAULT_FILTERS, true, " ")
                    .map_err(|e| e.to_string())?;
                if got != u64s(&c["result"]) {
                    return Err(format!("one_hot {got:?}, Keras {}", c["result"]));
                }
            }
        }
        "tf_keras.preprocessing.sequence.make_sampling_table" => {
            let t = make_sampling_table(
                p["size"].as_u64().unwrap_or(0) as usize,
                p["sampling_factor"].as_f64().unwrap_or(1e-5),
            );
            let got: Vec<f32> = t.iter().map(|&v| v as f32).collect();
            compare_values("table", &got, &case.array("table")?.to_f32_vec(), 1e-6, 1e-7)?;
        }
        "tf_keras.preprocessing.sequence.skipgrams" => {
            let seq: Vec<usize> = u64s(&p["sequence"]).into_iter().map(|v| v as usize).collect();
            let args = SkipgramsArgs {
                window_size: p["window_size"].as_u64().unwrap_or(4) as usize,
                negative_samples: p["negative_samples"].as_f64().unwrap_or(1.0),
                shuffle: p["shuffle"].as_bool().unwrap_or(true),
                sampling_table: p["sampling_table"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_f64).collect()),
                seed: p["seed"].as_u64(),
            };
            let mut rng = PyRandom::new(p["random_seed"].as_u64().unwrap_or(0));
            let s = skipgrams(&seq, p["vocabulary_size"].as_u64().unwrap_or(0) as usize, &args, &mut rng)
                .map_err(|e| e.to_string())?;
            let want: Vec<[usize; 2]> = case.json["couples"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| [c[0].as_u64().unwrap_or(0) as usize, c[1].as_u64().unwrap_or(0) as usize])
                .collect();
            if s.couples != want {
                return Err(format!("couples {:?}, Keras {want:?}", s.couples));
            }
            let labels: Vec<Value> = if p["categorical"] == true {
                s.categorical_labels().iter().map(|l| serde_json::json!(l)).collect()
            } else {
                s.labels.iter().map(|l| serde_json::json!(l)).collect()
            };
            if Value::Array(labels.clone()) != case.json["labels"] {
                return Err(format!("labels {labels:?}, Keras {}", case.json["labels"]));
            }
        }
        "keras.utils.pad_sequences" => {
            let n = case.json["num_sequences"].as_u64().unwrap_or(0) as usize;
            let seqs: Vec<Tensor> =
                (0..n).map(|j| case.array(&format!("seq_{j}"))).collect::<Result<_, _>>()?;
            let mut args = PadSequencesArgs::default();
            if let Some(m) = p["maxlen"].as_u64() {
                args = args.maxlen(m as usize);
            }
            if let Some(s) = p["padding"].as_str() {
                args = args.padding(s);
            }
            if let Some(s) = p["truncating"].as_str() {
                args = args.truncating(s);
            }
            if let Some(v) = p["value"].as_f64() {
                args = args.value(v);
            }
            args = args.dtype(if p["dtype"] == "float32" { DType::F32 } else { DType::I32 });
            let got = pad_sequences_nd(&seqs, &args).map_err(|e| e.to_string())?;
            compare("output", &got.cast(DType::F32), &case.array("output")?.cast(DType::F32), 0.0, 0.0)?;
        }
        other => return Err(format!("unknown function {other}")),
    }
    Ok(())
}

pub fn run(case: &Case) -> Option<Outcome> {
    if !(case.name.starts_with("legacy_") || case.name.starts_with("pad_sequences_vectors")) {
        return None;
    }
    Some(match check(case) {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    })
}
