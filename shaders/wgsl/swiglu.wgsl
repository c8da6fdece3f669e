@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<f32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_u32: array<u32, 2>, static_meta: array<u32, 4> }
@group(0) @binding(3) var<storage, read> info_var: info_st;
@compute @workgroup_size(256, 1, 1)
fn swiglu_kernel_4cd62df7(@builtin(workgroup_id) v51: vec3<u32>, @builtin(local_invocation_id) v54: vec3<u32>) {
let v56 = &v9;
let v57 = &v5;
let v58 = &v1;
let v13 = info_var.scalars_u32[0];
let v14 = info_var.scalars_u32[1];
let v52 = v51[0];
let v53 = v51[1];
let v17 = v53 * v14;
let v18 = v52 + v17;
let v19 = u32(v18);
let v20 = u32(256);
let v21 = v19 * v20;
let v55 = v54[0];
let v23 = u32(v55);
let v24 = v21 + v23;
let v25 = u32(v13);
let v26 = v24 < v25;
if v26 {
let v30 = &(*v58)[v24];
let v31 = *v30;
let v32 = -v31;
let v33 = exp(v32);
let v34 = f32(1.0);
let v35 = v34 + v33;
let v36 = v31 / v35;
let v40 = &(*v57)[v24];
let v41 = *v40;
let v42 = v36 * v41;
let v46 = &(*v56)[v24];
*v46 = v42;

}
return;

}
