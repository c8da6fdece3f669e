var<workgroup> shared_v20: array<f32, 256>;
var<workgroup> shared_v24: array<u32, 256>;
var<workgroup> shared_v409: array<u32, 1>;
var<workgroup> shared_v413: array<f32, 2>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<f32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_u32: array<u32, 2>, static_meta: array<u32, 4> }
@group(0) @binding(3) var<storage, read> info_var: info_st;
@compute @workgroup_size(256, 1, 1)
fn sample_kernel_22de66fa(@builtin(local_invocation_id) v671: vec3<u32>, @builtin(workgroup_id) v673: vec3<u32>) {
let v698 = &v9;
let v699 = &v5;
let v700 = &v1;
let v3 = u32(0);
let v13 = info_var.scalars_u32[0];
let v672 = v671[0];
let v15 = u32(v672);
let v674 = v673[0];
let v17 = u32(v674);
let v18 = u32(v13);
let v19 = v17 * v18;
let v626 = &shared_v20;
let v22 = u32(256);
let v627 = &shared_v24;
let v28 = f32(-3.3999999521443642e38);
var<function> v628_store: f32;
let v628 = &v628_store;
*v628 = v28;
let v31 = u32(4294967295);
var<function> v629_store: u32;
let v629 = &v629_store;
*v629 = v31;
var<function> v630_store: u32;
let v630 = &v630_store;
*v630 = v15;
loop {
let v35 = *v630;
let v36 = v35 < v18;
if !v36 { break; }
let v38 = *v630;
let v39 = v19 + v38;
let v43 = &(*v700)[v39];
let v44 = *v43;
let v45 = *v628;
let v46 = v44 > v45;
if v46 {
*v628 = v44;
let v47 = *v630;
let v48 = u32(v47);
*v629 = v48;

}
let v49 = *v630;
let v51 = v49 + v22;
*v630 = v51;

}
let v55 = &(*v626)[v15];
let v56 = *v628;
*v55 = v56;
let v60 = &(*v627)[v15];
let v61 = *v629;
*v60 = v61;
workgroupBarrier();
let v64 = u32(2);
let v686 = u32(128);
var<function> v632_store: u32;
let v632 = &v632_store;
*v632 = v686;
loop {
let v67 = *v632;
let v69 = v67 > v3;
if !v69 { break; }
let v71 = *v632;
let v72 = v15 < v71;
if v72 {
let v77 = *v55;
let v79 = v15 + v71;
let v83 = &(*v626)[v79];
let v84 = *v83;
let v85 = v84 > v77;
let v86 = true;
var<function> v634_store: bool;
let v634 = &v634_store;
if v85 {
*v634 = v86;

} else {
let v89 = v84 == v77;
var<function> v635_store: bool;
let v635 = &v635_store;
if v89 {
let v90 = *v632;
let v91 = v15 + v90;
let v95 = &(*v627)[v91];
let v96 = *v95;
let v101 = *v60;
let v102 = v96 < v101;
*v635 = v102;

} else {
let v104 = false;
*v635 = v104;

}
let v105 = *v635;
*v634 = v105;

}
let v106 = *v634;
if v106 {
*v55 = v84;
let v111 = *v632;
let v112 = v15 + v111;
let v116 = &(*v627)[v112];
let v117 = *v116;
*v60 = v117;

}

}
workgroupBarrier();
let v122 = *v632;
let v124 = v122 / v64;
*v632 = v124;

}
let v129 = &(*v626)[v3];
let v130 = *v129;
let v135 = &(*v627)[v3];
let v136 = *v135;
workgroupBarrier();
let v137 = f32(0.0);
var<function> v636_store: f32;
let v636 = &v636_store;
*v636 = v137;
var<function> v637_store: u32;
let v637 = &v637_store;
*v637 = v15;
loop {
let v141 = *v637;
let v142 = v141 < v18;
if !v142 { break; }
let v144 = *v637;
let v145 = v19 + v144;
let v149 = &(*v700)[v145];
let v150 = *v149;
let v151 = v150 - v130;
let v152 = exp(v151);
let v153 = *v636;
let v154 = v153 + v152;
*v636 = v154;
let v155 = *v637;
let v157 = v155 + v22;
*v637 = v157;

}
let v162 = *v636;
*v55 = v162;
workgroupBarrier();
var<function> v639_store: u32;
let v639 = &v639_store;
*v639 = v686;
loop {
let v168 = *v639;
let v170 = v168 > v3;
if !v170 { break; }
let v172 = *v639;
let v173 = v15 < v172;
if v173 {
let v178 = *v55;
let v180 = v15 + v172;
let v184 = &(*v626)[v180];
let v185 = *v184;
let v186 = v178 + v185;
*v55 = v186;

}
workgroupBarrier();
let v191 = *v639;
let v193 = v191 / v64;
*v639 = v193;

}
let v199 = *v129;
workgroupBarrier();
let v200 = log(v199);
let v201 = v130 + v200;
var<function> v641_store: u32;
let v641 = &v641_store;
*v641 = v136;
let v203 = u32(4);
let v204 = v17 * v203;
let v208 = &(*v699)[v204];
let v209 = *v208;
let v212 = u32(1);
let v213 = v204 + v212;
let v217 = &(*v699)[v213];
let v218 = *v217;
let v219 = u32(v218);
let v231 = u32(3);
let v232 = v204 + v231;
let v236 = &(*v699)[v232];
let v237 = *v236;
let v239 = v209 > v137;
let v240 = u32(1);
let v241 = v219 != v240;
let v242 = v239 && v241;
let v243 = f32(1.0);
let v244 = v243 / v209;
let v246 = select(v243, v244, v242);
let v247 = u32(0);
var<function> v642_store: u32;
let v642 = &v642_store;
*v642 = v247;
var<function> v643_store: u32;
let v643 = &v643_store;
*v643 = v247;
let v253 = bitcast<u32>(v130);
let v254 = u32(2147483648);
let v255 = v253 & v254;
let v257 = v255 != v247;
var<function> v644_store: u32;
let v644 = &v644_store;
if v257 {
let v258 = ~v253;
*v644 = v258;

} else {
let v261 = v253 | v254;
*v644 = v261;

}
var<function> v645_store: u32;
let v645 = &v645_store;
let v263 = *v644;
*v645 = v263;
let v265 = u32(32);
for(var v267: u32 = v247; v267 < v265; v267 += v240) {
let v269 = *v645;
let v270 = *v643;
let v271 = v269 - v270;
let v273 = v271 + v240;
let v274 = u32(2);
let v275 = v273 / v274;
let v277 = v270 + v275;
var<function> v647_store: u32;
let v647 = &v647_store;
*v647 = v247;
var<function> v648_store: u32;
let v648 = &v648_store;
*v648 = v15;
loop {
let v282 = *v648;
let v283 = v282 < v18;
if !v283 { break; }
let v285 = *v648;
let v286 = v19 + v285;
let v290 = &(*v700)[v286];
let v291 = *v290;
let v292 = bitcast<u32>(v291);
let v294 = v292 & v254;
let v296 = v294 != v247;
var<function> v650_store: u32;
let v650 = &v650_store;
if v296 {
let v297 = ~v292;
*v650 = v297;

} else {
let v300 = v292 | v254;
*v650 = v300;

}
let v301 = *v650;
let v302 = v301 >= v277;
let v305 = select(v247, v240, v302);
let v306 = *v647;
let v307 = v306 + v305;
*v647 = v307;
let v308 = *v648;
let v310 = v308 + v22;
*v648 = v310;

}
let v315 = *v647;
*v60 = v315;
workgroupBarrier();
var<function> v651_store: u32;
let v651 = &v651_store;
*v651 = v686;
loop {
let v321 = *v651;
let v323 = v321 > v3;
if !v323 { break; }
let v325 = *v651;
let v326 = v15 < v325;
if v326 {
let v331 = *v60;
let v333 = v15 + v325;
let v337 = &(*v627)[v333];
let v338 = *v337;
let v339 = v331 + v338;
*v60 = v339;

}
workgroupBarrier();
let v344 = *v651;
let v346 = v344 / v64;
*v651 = v346;

}
let v352 = *v135;
workgroupBarrier();
let v353 = v352 >= v219;
if v353 {
*v643 = v277;

} else {
let v355 = v277 - v240;
*v645 = v355;

}

}
let v357 = v219 > v247;
let v358 = v219 < v13;
let v359 = v357 && v358;
let v360 = *v643;
let v362 = select(v247, v360, v359);
*v642 = v362;
let v364 = v18 + v22;
let v366 = v364 - v212;
let v368 = v366 / v22;
let v369 = v15 * v368;
let v370 = min(v369, v18);
let v371 = v370 + v368;
let v372 = min(v371, v18);
var<function> v653_store: f32;
let v653 = &v653_store;
*v653 = v137;
for(var v377: u32 = v370; v377 < v372; v377 += v212) {
let v379 = v19 + v377;
let v383 = &(*v700)[v379];
let v384 = *v383;
let v385 = bitcast<u32>(v384);
let v387 = v385 & v254;
let v389 = v387 != v247;
var<function> v655_store: u32;
let v655 = &v655_store;
if v389 {
let v390 = ~v385;
*v655 = v390;

} else {
let v393 = v385 | v254;
*v655 = v393;

}
let v394 = *v655;
let v395 = *v642;
let v396 = v394 >= v395;
let v397 = v384 - v130;
let v398 = v397 * v246;
let v399 = exp(v398);
let v401 = select(v137, v399, v396);
let v402 = *v653;
let v403 = v402 + v401;
*v653 = v403;

}
let v408 = *v653;
*v55 = v408;
let v656 = &shared_v409;
let v657 = &shared_v413;
workgroupBarrier();
let v418 = v15 == v3;
if v418 {
var<function> v658_store: f32;
let v658 = &v658_store;
*v658 = v137;
for(var v426: u32 = v3; v426 < v22; v426 += v212) {
let v431 = &(*v626)[v426];
let v432 = *v431;
let v433 = *v658;
let v434 = v433 + v432;
*v658 = v434;

}
let v435 = *v658;
let v436 = v237 * v435;
var<function> v660_store: f32;
let v660 = &v660_store;
*v660 = v137;
var<function> v661_store: u32;
let v661 = &v661_store;
*v661 = v31;
var<function> v662_store: f32;
let v662 = &v662_store;
*v662 = v137;
var<function> v663_store: u32;
let v663 = &v663_store;
*v663 = v247;
var<function> v664_store: f32;
let v664 = &v664_store;
*v664 = v137;
for(var v456: u32 = v3; v456 < v22; v456 += v212) {
let v461 = &(*v626)[v456];
let v462 = *v461;
let v464 = v462 > v137;
if v464 {
let v465 = u32(v456);
*v663 = v465;
let v466 = *v660;
*v664 = v466;
let v467 = *v661;
let v469 = v467 == v31;
let v470 = *v660;
let v471 = v470 + v462;
let v472 = v471 > v436;
let v473 = v469 && v472;
if v473 {
*v661 = v465;
let v475 = *v660;
*v662 = v475;

}

}
let v476 = *v660;
let v477 = v476 + v462;
*v660 = v477;

}
let v478 = *v661;
let v480 = v478 == v31;
if v480 {
let v481 = *v663;
*v661 = v481;
let v482 = *v664;
*v662 = v482;

}
let v487 = &(*v656)[v3];
let v488 = *v661;
*v487 = v488;
let v493 = &(*v657)[v3];
let v494 = *v662;
*v493 = v494;
let v499 = &(*v657)[v212];
*v499 = v436;

}
workgroupBarrier();
let v500 = u32(v15);
let v505 = &(*v656)[v3];
let v506 = *v505;
let v507 = v500 == v506;
if v507 {
let v512 = &(*v657)[v212];
let v513 = *v512;
let v518 = &(*v657)[v3];
let v519 = *v518;
var<function> v666_store: f32;
let v666 = &v666_store;
*v666 = v519;
var<function> v667_store: u32;
let v667 = &v667_store;
*v667 = v31;
let v524 = u32(v370);
var<function> v668_store: u32;
let v668 = &v668_store;
*v668 = v524;
for(var v527: u32 = v370; v527 < v372; v527 += v212) {
let v529 = v19 + v527;
let v533 = &(*v700)[v529];
let v534 = *v533;
let v535 = bitcast<u32>(v534);
let v537 = v535 & v254;
let v539 = v537 != v247;
var<function> v670_store: u32;
let v670 = &v670_store;
if v539 {
let v540 = ~v535;
*v670 = v540;

} else {
let v543 = v535 | v254;
*v670 = v543;

}
let v544 = *v670;
let v545 = *v642;
let v546 = v544 >= v545;
if v546 {
let v547 = u32(v527);
*v668 = v547;
let v548 = v534 - v130;
let v549 = v548 * v246;
let v550 = exp(v549);
let v551 = *v666;
let v552 = v551 + v550;
*v666 = v552;
let v553 = *v667;
let v555 = v553 == v31;
let v556 = *v666;
let v557 = v556 > v513;
let v558 = v555 && v557;
if v558 {
*v667 = v547;

}

}

}
let v560 = *v667;
let v562 = v560 == v31;
if v562 {
let v563 = *v668;
*v667 = v563;

}
if v242 {
let v564 = *v667;
let v565 = f32(v564);
let v567 = v17 * v64;
let v571 = &(*v698)[v567];
*v571 = v565;
let v573 = u32(v564);
let v574 = v19 + v573;
let v578 = &(*v700)[v574];
let v579 = *v578;
let v580 = v579 - v201;
let v584 = v567 + v212;
let v588 = &(*v698)[v584];
*v588 = v580;

}

}
let v590 = select(v136, v31, v242);
*v641 = v590;
let v593 = *v641;
let v595 = v593 != v31;
let v596 = v418 && v595;
if v596 {
let v598 = f32(v593);
let v600 = v17 * v64;
let v604 = &(*v698)[v600];
*v604 = v598;
let v606 = u32(v593);
let v607 = v19 + v606;
let v611 = &(*v700)[v607];
let v612 = *v611;
let v613 = v612 - v201;
let v617 = v600 + v212;
let v621 = &(*v698)[v617];
*v621 = v613;

}
return;

}
