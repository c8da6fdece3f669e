var<workgroup> shared_v30: array<f32, 256>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<f32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_u32: array<u32, 4>, static_meta: array<u32, 4> }
@group(0) @binding(3) var<storage, read> info_var: info_st;
@compute @workgroup_size(256, 1, 1)
fn logprob_kernel_4d97a1ee(@builtin(local_invocation_id) v211: vec3<u32>, @builtin(workgroup_id) v213: vec3<u32>) {
let v224 = &v9;
let v225 = &v5;
let v226 = &v1;
let v3 = u32(0);
let v13 = info_var.scalars_u32[0];
let v14 = info_var.scalars_u32[1];
let v15 = info_var.scalars_u32[2];
let v212 = v211[0];
let v17 = u32(v212);
let v214 = v213[0];
let v215 = v213[1];
let v20 = v215 * v14;
let v21 = v214 + v20;
let v22 = v21 < v15;
let v23 = u32(1);
let v24 = v15 - v23;
let v25 = select(v24, v21, v22);
let v26 = u32(v25);
let v28 = u32(v13);
let v29 = v26 * v28;
let v199 = &shared_v30;
let v32 = u32(256);
let v34 = f32(-3.3999999521443642e38);
var<function> v200_store: f32;
let v200 = &v200_store;
*v200 = v34;
var<function> v201_store: u32;
let v201 = &v201_store;
*v201 = v17;
loop {
let v38 = *v201;
let v39 = v38 < v28;
if !v39 { break; }
let v41 = *v201;
let v42 = v29 + v41;
let v46 = &(*v226)[v42];
let v47 = *v46;
let v48 = *v200;
let v49 = max(v48, v47);
*v200 = v49;
let v50 = *v201;
let v52 = v50 + v32;
*v201 = v52;

}
let v56 = &(*v199)[v17];
let v57 = *v200;
*v56 = v57;
workgroupBarrier();
let v60 = u32(2);
let v222 = u32(128);
var<function> v203_store: u32;
let v203 = &v203_store;
*v203 = v222;
loop {
let v63 = *v203;
let v65 = v63 > v3;
if !v65 { break; }
let v67 = *v203;
let v68 = v17 < v67;
if v68 {
let v73 = *v56;
let v75 = v17 + v67;
let v79 = &(*v199)[v75];
let v80 = *v79;
let v81 = v80 > v73;
let v82 = select(v73, v80, v81);
*v56 = v82;

}
workgroupBarrier();
let v87 = *v203;
let v89 = v87 / v60;
*v203 = v89;

}
let v94 = &(*v199)[v3];
let v95 = *v94;
workgroupBarrier();
let v96 = f32(0.0);
var<function> v205_store: f32;
let v205 = &v205_store;
*v205 = v96;
var<function> v206_store: u32;
let v206 = &v206_store;
*v206 = v17;
loop {
let v100 = *v206;
let v101 = v100 < v28;
if !v101 { break; }
let v103 = *v206;
let v104 = v29 + v103;
let v108 = &(*v226)[v104];
let v109 = *v108;
let v110 = v109 - v95;
let v111 = exp(v110);
let v112 = *v205;
let v113 = v112 + v111;
*v205 = v113;
let v114 = *v206;
let v116 = v114 + v32;
*v206 = v116;

}
let v121 = *v205;
*v56 = v121;
workgroupBarrier();
var<function> v208_store: u32;
let v208 = &v208_store;
*v208 = v222;
loop {
let v127 = *v208;
let v129 = v127 > v3;
if !v129 { break; }
let v131 = *v208;
let v132 = v17 < v131;
if v132 {
let v137 = *v56;
let v139 = v17 + v131;
let v143 = &(*v199)[v139];
let v144 = *v143;
let v145 = v137 + v144;
*v56 = v145;

}
workgroupBarrier();
let v150 = *v208;
let v152 = v150 / v60;
*v208 = v152;

}
let v158 = *v94;
workgroupBarrier();
let v160 = v17 == v3;
let v161 = v160 && v22;
if v161 {
let v165 = &(*v225)[v26];
let v166 = *v165;
let v168 = v166 >= v96;
var<function> v210_store: bool;
let v210 = &v210_store;
if v168 {
let v169 = f32(v13);
let v170 = v166 < v169;
*v210 = v170;

} else {
let v172 = false;
*v210 = v172;

}
let v173 = *v210;
if v173 {
let v174 = u32(v166);
let v175 = u32(v174);
let v176 = v29 + v175;
let v180 = &(*v226)[v176];
let v181 = *v180;
let v182 = v181 - v95;
let v183 = log(v158);
let v184 = v182 - v183;
let v188 = &(*v224)[v26];
*v188 = v184;

} else {
let v189 = u32(2143289344);
let v190 = bitcast<f32>(v189);
let v194 = &(*v224)[v26];
*v194 = v190;

}

}
return;

}
