//! TensorBoard event files: read back by an independent reader (its own CRC32C and protobuf
//! decoding, written from the format's specification), compared byte for byte with event
//! files written by TensorFlow (tests/fixtures/callbacks/tensorboard, make_fixtures.py).

use std::path::{Path, PathBuf};

use keras::callbacks::tensorboard::{
    encode_event, tfrecord, SummaryTensor, SummaryValue, TensorBoard, UpdateFreq,
};
use keras::layers::{Dense, Input};
use keras::models::Sequential;
use keras::{FitArgs, Tensor};

// ---------------------------------------------------------------- independent reader

/// Bitwise CRC32C (no table), masked as TFRecord does.
fn masked_crc(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xffff_ffff;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82f6_3b78 & mask);
        }
    }
    let crc = !crc;
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

fn records(path: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let len = u64::from_le_bytes(b[i..i + 8].try_into().unwrap()) as usize;
        let lcrc = u32::from_le_bytes(b[i + 8..i + 12].try_into().unwrap());
        assert_eq!(lcrc, masked_crc(&b[i..i + 8]), "length CRC in {}", path.display());
        let data = b[i + 12..i + 12 + len].to_vec();
        let dcrc = u32::from_le_bytes(b[i + 12 + len..i + 16 + len].try_into().unwrap());
        assert_eq!(dcrc, masked_crc(&data), "data CRC in {}", path.display());
        out.push(data);
        i += 16 + len;
    }
    assert_eq!(i, b.len(), "trailing bytes");
    out
}

#[derive(Debug, Clone)]
enum Wire {
    Varint(u64),
    Fixed64(u64),
    Bytes(Vec<u8>),
    Fixed32,
}

fn fields(mut b: &[u8]) -> Vec<(u32, Wire)> {
    fn varint(b: &mut &[u8]) -> u64 {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let byte = b[0];
            *b = &b[1..];
            v |= ((byte & 0x7f) as u64) << shift;
            if byte & 0x80 == 0 {
                return v;
            }
            shift += 7;
        }
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let k = varint(&mut b);
        let (field, wire) = ((k >> 3) as u32, k & 7);
        let w = match wire {
            0 => Wire::Varint(varint(&mut b)),
            1 => {
                let v = u64::from_le_bytes(b[..8].try_into().unwrap());
                b = &b[8..];
                Wire::Fixed64(v)
            }
            2 => {
                let n = varint(&mut b) as usize;
                let v = b[..n].to_vec();
                b = &b[n..];
                Wire::Bytes(v)
            }
            5 => {
                b = &b[4..];
                Wire::Fixed32
            }
            w => panic!("unexpected wire type {w}"),
        };
        out.push((field, w));
    }
    out
}

fn bytes_of(fs: &[(u32, Wire)], field: u32) -> Option<Vec<u8>> {
    fs.iter().find_map(|(f, w)| match (f, w) {
        (f, Wire::Bytes(b)) if *f == field => Some(b.clone()),
        _ => None,
    })
}

#[derive(Debug, Clone)]
struct Value {
    tag: String,
    dtype: u64,
    shape: Vec<u64>,
    content: Vec<u8>,
    string_val: Option<Vec<u8>>,
    plugin: String,
}

#[derive(Debug, Clone)]
struct Event {
    wall_time: f64,
    step: i64,
    file_version: Option<String>,
    values: Vec<Value>,
}

fn decode_event(b: &[u8]) -> Event {
    let fs = fields(b);
    let mut e = Event { wall_time: 0.0, step: 0, file_version: None, values: Vec::new() };
    for (f, w) in &fs {
        match (f, w) {
            (1, Wire::Fixed64(v)) => e.wall_time = f64::from_bits(*v),
            (2, Wire::Varint(v)) => e.step = *v as i64,
            (3, Wire::Bytes(s)) => e.file_version = Some(String::from_utf8(s.clone()).unwrap()),
            (5, Wire::Bytes(summary)) => {
                for (sf, sw) in fields(summary) {
                    let Wire::Bytes(vb) = sw else { panic!() };
                    assert_eq!(sf, 1);
                    let vf = fields(&vb);
                    let tag = String::from_utf8(bytes_of(&vf, 1).unwrap()).unwrap();
                    let tensor = fields(&bytes_of(&vf, 8).unwrap());
                    let dtype = tensor.iter().find_map(|(f, w)| match (f, w) {
                        (1, Wire::Varint(v)) => Some(*v),
                        _ => None,
                    });
                    let shape: Vec<u64> = fields(&bytes_of(&tensor, 2).unwrap_or_default())
                        .into_iter()
                        .map(|(_, w)| match w {
                            Wire::Bytes(d) => match fields(&d).first() {
                                Some((1, Wire::Varint(s))) => *s,
                                _ => panic!("dim"),
                            },
                            _ => panic!("dim"),
                        })
                        .collect();
                    let meta = fields(&bytes_of(&vf, 9).unwrap());
                    let plugin = fields(&bytes_of(&meta, 1).unwrap());
                    e.values.push(Value {
                        tag,
                        dtype: dtype.unwrap(),
                        shape,
                        content: bytes_of(&tensor, 4).unwrap_or_default(),
                        string_val: bytes_of(&tensor, 8),
                        plugin: String::from_utf8(bytes_of(&plugin, 1).unwrap()).unwrap(),
                    });
                }
            }
            (10, Wire::Bytes(_)) => {}
            other => panic!("unexpected Event field {other:?}"),
        }
    }
    e
}

fn read_dir_events(dir: &Path) -> Vec<Event> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 1, "one event file in {}", dir.display());
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("events.out.tfevents.") && name.ends_with(".v2"), "{name}");
    records(&files[0]).iter().map(|r| decode_event(r)).collect()
}

fn scalar(v: &Value) -> f32 {
    assert_eq!((v.dtype, v.shape.len(), v.plugin.as_str()), (1, 0, "scalars"), "{}", v.tag);
    f32::from_le_bytes(v.content[..4].try_into().unwrap())
}

fn doubles(v: &Value) -> Vec<f64> {
    v.content.chunks(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
}

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/callbacks/tensorboard").join(p)
}

// ---------------------------------------------------------------- tests

/// Re-encodes every event of a TensorFlow-written file with our writer: same bytes.
#[test]
fn our_encoding_matches_tensorflow_event_files() {
    for f in [
        "keras_logs/train/events.out.tfevents.fixture.v2",
        "keras_logs/validation/events.out.tfevents.fixture.v2",
        "histograms/events.out.tfevents.fixture.v2",
    ] {
        let path = fixture(f);
        let recs = records(&path);
        let mut ours = Vec::new();
        for (i, r) in recs.iter().enumerate() {
            let e = decode_event(r);
            let values: Vec<SummaryValue> = e
                .values
                .iter()
                .map(|v| SummaryValue {
                    tag: v.tag.clone(),
                    tensor: match v.dtype {
                        1 => SummaryTensor::Scalar(scalar(v)),
                        2 => SummaryTensor::Matrix {
                            values: doubles(v),
                            rows: v.shape[0] as usize,
                            cols: v.shape[1] as usize,
                        },
                        d => panic!("dtype {d}"),
                    },
                    plugin_name: v.plugin.clone(),
                    plugin_content: Vec::new(),
                })
                .collect();
            if i == 0 {
                assert_eq!(e.file_version.as_deref(), Some("brain.Event:2"));
            }
            let enc = encode_event(e.wall_time, e.step, e.file_version.as_deref(), &values);
            assert_eq!(&enc, r, "{f}: record {i} differs ({e:?})");
            ours.extend(tfrecord(&enc));
        }
        assert_eq!(ours, std::fs::read(&path).unwrap(), "{f}: framing");
    }
}

#[test]
fn histogram_buckets_match_tensorflow() {
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("histogram_data.json")).unwrap()).unwrap();
    let events: Vec<Event> = records(&fixture("histograms/events.out.tfevents.fixture.v2"))
        .iter()
        .map(|r| decode_event(r))
        .collect();
    let mut checked = 0;
    for e in &events {
        for v in &e.values {
            if v.plugin != "histograms" {
                continue;
            }
            let xs: Vec<f32> =
                data[&v.tag].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
            let ours = SummaryValue::histogram(&v.tag, &xs);
            let SummaryTensor::Matrix { values, rows, cols } = ours.tensor else { panic!() };
            assert_eq!((rows as u64, cols as u64), (v.shape[0], v.shape[1]));
            assert_eq!(values, doubles(v), "{}", v.tag);
            checked += 1;
        }
    }
    assert_eq!(checked, 3);
}

#[test]
fn fit_writes_keras_tags_steps_and_values() {
    let dir = std::env::temp_dir().join(format!("keras_rs_tb_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    keras::utils::set_random_seed(5);
    let mut m = Sequential::new().with_name("seq");
    m.add(Input::new(&[3])).unwrap();
    m.add(Dense::new(2).name("dense")).unwrap();
    m.compile("sgd", "mse", &["mae"]).unwrap();
    let x = Tensor::new((0..24).map(|i| (i as f32) / 24.0).collect(), [8, 3]).unwrap();
    let y = Tensor::new((0..16).map(|i| (i as f32) / 16.0).collect(), [8, 2]).unwrap();
    let mut tb = TensorBoard::new(&dir).histogram_freq(1).update_freq(UpdateFreq::Batches(2));
    let h = m
        .fit(
            &x,
            &y,
            FitArgs::default().epochs(2).batch_size(2).verbose(0).validation_data(&x, &y).callback(&mut tb),
        )
        .unwrap();
    let train = read_dir_events(&dir.join("train"));
    let val = read_dir_events(&dir.join("validation"));
    let tagged = |evs: &[Event], tag: &str| -> Vec<(i64, Value)> {
        evs.iter()
            .flat_map(|e| e.values.iter().filter(|v| v.tag == tag).map(move |v| (e.step, v.clone())))
            .collect()
    };
    // Model config (write_graph).
    let g = tagged(&train, "keras");
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].1.plugin, "graph_keras_model");
    let cfg: serde_json::Value = serde_json::from_slice(g[0].1.string_val.as_ref().unwrap()).unwrap();
    assert_eq!(cfg["class_name"], "Sequential");
    // Epoch scalars, train and validation, at steps 0 and 1.
    for (tag, key) in [("epoch_loss", "loss"), ("epoch_mae", "mae")] {
        let got: Vec<(i64, f32)> = tagged(&train, tag).iter().map(|(s, v)| (*s, scalar(v))).collect();
        assert_eq!(got, vec![(0, h.history[key][0]), (1, h.history[key][1])], "{tag}");
        let got: Vec<(i64, f32)> = tagged(&val, tag).iter().map(|(s, v)| (*s, scalar(v))).collect();
        let vk = format!("val_{key}");
        assert_eq!(got, vec![(0, h.history[&vk][0]), (1, h.history[&vk][1])], "val {tag}");
    }
    let lr: Vec<(i64, f32)> =
        tagged(&train, "epoch_learning_rate").iter().map(|(s, v)| (*s, scalar(v))).collect();
    assert_eq!(lr, vec![(0, 0.01), (1, 0.01)]);
    // Batch scalars every 2 of the 8 global batches.
    let steps: Vec<i64> = tagged(&train, "batch_loss").iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, vec![2, 4, 6, 8]);
    // Evaluation vs iterations: global test batch 4 and 8 are multiples of 2, so both recorded.
    let ev: Vec<(i64, f32)> =
        tagged(&val, "evaluation_loss_vs_iterations").iter().map(|(s, v)| (*s, scalar(v))).collect();
    assert_eq!(ev, vec![(4, h.history["val_loss"][0]), (8, h.history["val_loss"][1])]);
    // Histograms of each weight, per epoch.
    for tag in ["seq/dense/kernel/histogram", "seq/dense/bias/histogram"] {
        let hs = tagged(&train, tag);
        assert_eq!(hs.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![0, 1], "{tag}");
        assert_eq!(
            (hs[0].1.dtype, hs[0].1.shape.clone(), hs[0].1.plugin.as_str()),
            (2, vec![30, 3], "histograms")
        );
        let counts: f64 = doubles(&hs[1].1).chunks(3).map(|r| r[2]).sum();
        assert_eq!(counts, if tag.contains("kernel") { 6.0 } else { 2.0 });
    }
    let _ = std::fs::remove_dir_all(&dir);
}
