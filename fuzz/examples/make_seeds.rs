//! Writes seed inputs that match the fuzz targets' fixed model (so the fuzzers start from
//! files that load all the way): `cargo run --example make_seeds` from `fuzz/`.

fn main() -> keras::Result<()> {
    let m = keras::saving::fuzzing::weights_target_model();
    for dir in ["corpus/load_keras", "corpus/load_h5", "corpus/load_weights", "corpus/model_config_json"] {
        std::fs::create_dir_all(dir)?;
    }
    m.save("corpus/load_keras/target.keras")?;
    m.save("corpus/load_h5/target.h5")?;
    m.save_weights("corpus/load_weights/target.weights.h5")?;
    m.save("corpus/load_weights/target_legacy.h5")?;
    let cfg = serde_json::json!({"class_name": "Sequential", "config": m.get_config()});
    std::fs::write("corpus/model_config_json/target.json", cfg.to_string())?;
    Ok(())
}
