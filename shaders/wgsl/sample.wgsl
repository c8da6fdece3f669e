var<workgroup> shared_v20: array<f32, 256>;
var<workgroup> shared_v24: array<u32, 256>;
var<workgroup> shared_v296: array<u32, 1>;
var<workgroup> shared_v300: array<f32, 2>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<f32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_u32: array<u32, 2>, static_meta: array<u32, 4> }
@group(0) @binding(3) var<storage, read> info_var: info_st;
@compute @workgroup_size(256, 1, 1)
fn sample_kernel_bae8d29d(@builtin(local_invocation_id) v548: vec3<u32>, @builtin(workgroup_id) v550: vec3<u32>) {
let v571 = &v9;
let v572 = &v5;
let v573 = &v1;
let v3 = u32(0);
let v13 = info_var.scalars_u32[0];
let v549 = v548[0];
let v15 = u32(v549);
let v551 = v550[0];
let v17 = u32(v551);
let v18 = u32(v13);
let v19 = v17 * v18;
let v513 = &shared_v20;
let v22 = u32(256);
let v514 = &shared_v24;
let v28 = f32(-3.3999999521443642e38);
var<function> v515_store: f32;
let v515 = &v515_store;
*v515 = v28;
let v31 = u32(4294967295);
var<function> v516_store: u32;
let v516 = &v516_store;
*v516 = v31;
var<function> v517_store: u32;
let v517 = &v517_store;
*v517 = v15;
loop {
let v35 = *v517;
let v36 = v35 < v18;
if !v36 { break; }
let v38 = *v517;
let v39 = v19 + v38;
let v43 = &(*v573)[v39];
let v44 = *v43;
let v45 = *v515;
let v46 = v44 > v45;
if v46 {
*v515 = v44;
let v47 = *v517;
let v48 = u32(v47);
*v516 = v48;

}
let v49 = *v517;
let v51 = v49 + v22;
*v517 = v51;

}
let v55 = &(*v513)[v15];
let v56 = *v515;
*v55 = v56;
let v60 = &(*v514)[v15];
let v61 = *v516;
*v60 = v61;
workgroupBarrier();
let v64 = u32(2);
let v562 = u32(128);
var<function> v519_store: u32;
let v519 = &v519_store;
*v519 = v562;
loop {
let v67 = *v519;
let v69 = v67 > v3;
if !v69 { break; }
let v71 = *v519;
let v72 = v15 < v71;
if v72 {
let v77 = *v55;
let v79 = v15 + v71;
let v83 = &(*v513)[v79];
let v84 = *v83;
let v85 = v84 > v77;
let v86 = true;
var<function> v521_store: bool;
let v521 = &v521_store;
if v85 {
*v521 = v86;

} else {
let v89 = v84 == v77;
var<function> v522_store: bool;
let v522 = &v522_store;
if v89 {
let v90 = *v519;
let v91 = v15 + v90;
let v95 = &(*v514)[v91];
let v96 = *v95;
let v101 = *v60;
let v102 = v96 < v101;
*v522 = v102;

} else {
let v104 = false;
*v522 = v104;

}
let v105 = *v522;
*v521 = v105;

}
let v106 = *v521;
if v106 {
*v55 = v84;
let v111 = *v519;
let v112 = v15 + v111;
let v116 = &(*v514)[v112];
let v117 = *v116;
*v60 = v117;

}

}
workgroupBarrier();
let v122 = *v519;
let v124 = v122 / v64;
*v519 = v124;

}
let v129 = &(*v513)[v3];
let v130 = *v129;
let v135 = &(*v514)[v3];
let v136 = *v135;
workgroupBarrier();
let v137 = f32(0.0);
var<function> v523_store: f32;
let v523 = &v523_store;
*v523 = v137;
var<function> v524_store: u32;
let v524 = &v524_store;
*v524 = v15;
loop {
let v141 = *v524;
let v142 = v141 < v18;
if !v142 { break; }
let v144 = *v524;
let v145 = v19 + v144;
let v149 = &(*v573)[v145];
let v150 = *v149;
let v151 = v150 - v130;
let v152 = exp(v151);
let v153 = *v523;
let v154 = v153 + v152;
*v523 = v154;
let v155 = *v524;
let v157 = v155 + v22;
*v524 = v157;

}
let v162 = *v523;
*v55 = v162;
workgroupBarrier();
var<function> v526_store: u32;
let v526 = &v526_store;
*v526 = v562;
loop {
let v168 = *v526;
let v170 = v168 > v3;
if !v170 { break; }
let v172 = *v526;
let v173 = v15 < v172;
if v173 {
let v178 = *v55;
let v180 = v15 + v172;
let v184 = &(*v513)[v180];
let v185 = *v184;
let v186 = v178 + v185;
*v55 = v186;

}
workgroupBarrier();
let v191 = *v526;
let v193 = v191 / v64;
*v526 = v193;

}
let v199 = *v129;
workgroupBarrier();
let v200 = log(v199);
let v201 = v130 + v200;
var<function> v528_store: u32;
let v528 = &v528_store;
*v528 = v136;
let v203 = u32(4);
let v204 = v17 * v203;
let v208 = &(*v572)[v204];
let v209 = *v208;
let v212 = u32(1);
let v213 = v204 + v212;
let v217 = &(*v572)[v213];
let v218 = *v217;
let v219 = u32(v218);
let v231 = u32(3);
let v232 = v204 + v231;
let v236 = &(*v572)[v232];
let v237 = *v236;
let v239 = v209 > v137;
let v240 = u32(1);
let v241 = v219 != v240;
let v242 = v239 && v241;
let v243 = f32(1.0);
let v244 = v243 / v209;
let v246 = select(v243, v244, v242);
let v247 = u32(0);
var<function> v529_store: u32;
let v529 = &v529_store;
*v529 = v247;
let v251 = v18 + v22;
let v253 = v251 - v212;
let v255 = v253 / v22;
let v256 = v15 * v255;
let v257 = min(v256, v18);
let v258 = v257 + v255;
let v259 = min(v258, v18);
var<function> v530_store: f32;
let v530 = &v530_store;
*v530 = v137;
for(var v264: u32 = v257; v264 < v259; v264 += v212) {
let v266 = v19 + v264;
let v270 = &(*v573)[v266];
let v271 = *v270;
let v272 = bitcast<u32>(v271);
let v273 = u32(2147483648);
let v274 = v272 & v273;
let v276 = v274 != v247;
var<function> v532_store: u32;
let v532 = &v532_store;
if v276 {
let v277 = ~v272;
*v532 = v277;

} else {
let v280 = v272 | v273;
*v532 = v280;

}
let v281 = *v532;
let v282 = *v529;
let v283 = v281 >= v282;
let v284 = v271 - v130;
let v285 = v284 * v246;
let v286 = exp(v285);
let v288 = select(v137, v286, v283);
let v289 = *v530;
let v290 = v289 + v288;
*v530 = v290;

}
let v295 = *v530;
*v55 = v295;
let v533 = &shared_v296;
let v534 = &shared_v300;
workgroupBarrier();
let v305 = v15 == v3;
if v305 {
var<function> v535_store: f32;
let v535 = &v535_store;
*v535 = v137;
for(var v313: u32 = v3; v313 < v22; v313 += v212) {
let v318 = &(*v513)[v313];
let v319 = *v318;
let v320 = *v535;
let v321 = v320 + v319;
*v535 = v321;

}
let v322 = *v535;
let v323 = v237 * v322;
var<function> v537_store: f32;
let v537 = &v537_store;
*v537 = v137;
var<function> v538_store: u32;
let v538 = &v538_store;
*v538 = v31;
var<function> v539_store: f32;
let v539 = &v539_store;
*v539 = v137;
var<function> v540_store: u32;
let v540 = &v540_store;
*v540 = v247;
var<function> v541_store: f32;
let v541 = &v541_store;
*v541 = v137;
for(var v343: u32 = v3; v343 < v22; v343 += v212) {
let v348 = &(*v513)[v343];
let v349 = *v348;
let v351 = v349 > v137;
if v351 {
let v352 = u32(v343);
*v540 = v352;
let v353 = *v537;
*v541 = v353;
let v354 = *v538;
let v356 = v354 == v31;
let v357 = *v537;
let v358 = v357 + v349;
let v359 = v358 > v323;
let v360 = v356 && v359;
if v360 {
*v538 = v352;
let v362 = *v537;
*v539 = v362;

}

}
let v363 = *v537;
let v364 = v363 + v349;
*v537 = v364;

}
let v365 = *v538;
let v367 = v365 == v31;
if v367 {
let v368 = *v540;
*v538 = v368;
let v369 = *v541;
*v539 = v369;

}
let v374 = &(*v533)[v3];
let v375 = *v538;
*v374 = v375;
let v380 = &(*v534)[v3];
let v381 = *v539;
*v380 = v381;
let v386 = &(*v534)[v212];
*v386 = v323;

}
workgroupBarrier();
let v387 = u32(v15);
let v392 = &(*v533)[v3];
let v393 = *v392;
let v394 = v387 == v393;
if v394 {
let v399 = &(*v534)[v212];
let v400 = *v399;
let v405 = &(*v534)[v3];
let v406 = *v405;
var<function> v543_store: f32;
let v543 = &v543_store;
*v543 = v406;
var<function> v544_store: u32;
let v544 = &v544_store;
*v544 = v31;
let v411 = u32(v257);
var<function> v545_store: u32;
let v545 = &v545_store;
*v545 = v411;
for(var v414: u32 = v257; v414 < v259; v414 += v212) {
let v416 = v19 + v414;
let v420 = &(*v573)[v416];
let v421 = *v420;
let v422 = bitcast<u32>(v421);
let v423 = u32(2147483648);
let v424 = v422 & v423;
let v426 = v424 != v247;
var<function> v547_store: u32;
let v547 = &v547_store;
if v426 {
let v427 = ~v422;
*v547 = v427;

} else {
let v430 = v422 | v423;
*v547 = v430;

}
let v431 = *v547;
let v432 = *v529;
let v433 = v431 >= v432;
if v433 {
let v434 = u32(v414);
*v545 = v434;
let v435 = v421 - v130;
let v436 = v435 * v246;
let v437 = exp(v436);
let v438 = *v543;
let v439 = v438 + v437;
*v543 = v439;
let v440 = *v544;
let v442 = v440 == v31;
let v443 = *v543;
let v444 = v443 > v400;
let v445 = v442 && v444;
if v445 {
*v544 = v434;

}

}

}
let v447 = *v544;
let v449 = v447 == v31;
if v449 {
let v450 = *v545;
*v544 = v450;

}
if v242 {
let v451 = *v544;
let v452 = f32(v451);
let v454 = v17 * v64;
let v458 = &(*v571)[v454];
*v458 = v452;
let v460 = u32(v451);
let v461 = v19 + v460;
let v465 = &(*v573)[v461];
let v466 = *v465;
let v467 = v466 - v201;
let v471 = v454 + v212;
let v475 = &(*v571)[v471];
*v475 = v467;

}

}
let v477 = select(v136, v31, v242);
*v528 = v477;
let v480 = *v528;
let v482 = v480 != v31;
let v483 = v305 && v482;
if v483 {
let v485 = f32(v480);
let v487 = v17 * v64;
let v491 = &(*v571)[v487];
*v491 = v485;
let v493 = u32(v480);
let v494 = v19 + v493;
let v498 = &(*v573)[v494];
let v499 = *v498;
let v500 = v499 - v201;
let v504 = v487 + v212;
let v508 = &(*v571)[v504];
*v508 = v500;

}
return;

}
