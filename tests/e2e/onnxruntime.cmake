# The onnxruntime backend end to end (included by tests/e2e/CMakeLists.txt
# where the adapter is built): four engines agreeing on the quick zoo,
# accuracy and INT8 on digits, the profile, a user's own model, bad flags.
set(work ${E2E_WORK}/e2e_bench_four_engines)
add_test(NAME e2e_bench_four_engines
  COMMAND bash -c "rm -rf '${work}' && mkdir -p '${work}' && '${INFERLAB_CLI}' bench mobilenet_v2 squeezenet1_1 --backends onnxruntime,native,torch,opencv --batch 1,2 --threads 2 --min-duration-ms 200 --min-count 5 --warmup 1 --warmup-ms 0 --quiet --json '${work}/b.json' && /usr/bin/python3 '${E2E_DIR}/check_engines.py' '${work}/b.json' mobilenet_v2,squeezenet1_1 onnxruntime,native,torch,opencv")
set_tests_properties(e2e_bench_four_engines PROPERTIES FIXTURES_REQUIRED quick_zoo LABELS e2e TIMEOUT 600)

inferlab_accuracy_case(e2e_accuracy_digits_onnxruntime "digits_zoo"
  CHECKS backends=onnxruntime,native samples=1000 min_top1=0.985 min_agreement=0.999
  ARGS accuracy digits_cnn --dataset digits --backends onnxruntime,native)

# The optimizer's QDQ INT8 file runs on both ONNX engines that read QDQ, each
# within 0.3 pt Top-1 of FP32, and native the same with oneDNN capped to AVX2 (int8_engines.sh).
add_test(NAME e2e_int8_onnxruntime_native
  COMMAND bash ${E2E_DIR}/int8_engines.sh ${INFERLAB_CLI} ${E2E_WORK}/e2e_int8_onnxruntime_native)
set_tests_properties(e2e_int8_onnxruntime_native PROPERTIES FIXTURES_REQUIRED digits_zoo LABELS e2e TIMEOUT 600)

set(work ${E2E_WORK}/e2e_bench_profile_onnxruntime)
add_test(NAME e2e_bench_profile_onnxruntime
  COMMAND bash -c "rm -rf '${work}' && mkdir -p '${work}' && '${INFERLAB_CLI}' bench digits_cnn --backends onnxruntime --threads 2 --min-duration-ms 100 --min-count 5 --warmup 1 --warmup-ms 0 --profile --profile-runs 5 --trace-dir '${work}' --json '${work}/b.json' > '${work}/stdout.txt' && /usr/bin/python3 '${E2E_DIR}/check_profile.py' '${work}/b.json' '${work}/stdout.txt' onnxruntime ''")
set_tests_properties(e2e_bench_profile_onnxruntime PROPERTIES FIXTURES_REQUIRED digits_zoo LABELS e2e TIMEOUT 300)

add_test(NAME e2e_user_model_four_engines COMMAND bash ${E2E_DIR}/user_model.sh ${INFERLAB_CLI} ${E2E_WORK}/e2e_user_model)
set_tests_properties(e2e_user_model_four_engines PROPERTIES LABELS e2e TIMEOUT 900)

inferlab_e2e_case(e2e_bad_ort_opt "quick_zoo" 2 "--ort-opt max: expected all, extended, basic or disable"
  bench mobilenet_v2 --backends onnxruntime --ort-opt max --json @WORK@/r.json)
inferlab_e2e_case(e2e_bad_ort_spinning "quick_zoo" 2 "--ort-spinning fast: expected on or off"
  bench mobilenet_v2 --backends onnxruntime --ort-spinning fast --json @WORK@/r.json)
inferlab_e2e_case(e2e_bad_ort_int8_fp32_file "quick_zoo" 2 "onnxruntime runs int8 from a quantized \\(QDQ\\) model"
  bench mobilenet_v2 --backends onnxruntime --precision int8 --json @WORK@/r.json)
