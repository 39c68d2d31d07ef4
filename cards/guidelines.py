"""The primary sources cards and cards/knowledge cite: one entry per source; cards link to `url`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Guideline:
    key: str
    label: str
    citation: str
    url: str


_ALL = [
    Guideline("ctcae-v5", "CTCAE v5.0 (NCI, 2017)",
              "NCI Common Terminology Criteria for Adverse Events v5.0, 2017-11-27",
              "https://ctep.cancer.gov/protocolDevelopment/electronic_applications/ctc.htm"),
    Guideline("hyponatraemia-2014", "European hyponatraemia guideline 2014",
              "Spasovski G et al. Clinical practice guideline on diagnosis and treatment of hyponatraemia. "
              "Eur J Endocrinol 2014;170:G1-G47", "https://doi.org/10.1530/EJE-13-1020"),
    Guideline("hyperkalaemia-2020", "UK Kidney Association hyperkalaemia guideline 2020",
              "UK Kidney Association. Clinical Practice Guidelines: Treatment of Acute Hyperkalaemia in Adults (2020)",
              "https://ukkidney.org/health-professionals/guidelines/guidelines-commentaries"),
    Guideline("aha-acc-pad-2016", "2016 AHA/ACC PAD guideline",
              "Gerhard-Herman MD et al. 2016 AHA/ACC Guideline on the Management of Patients With Lower Extremity "
              "PAD. Circulation 2017;135:e726-e779, section 3.1",
              "https://doi.org/10.1161/CIR.0000000000000471"),
    Guideline("acc-aha-pad-2024", "2024 ACC/AHA multisociety PAD guideline",
              "Gornik HL et al. 2024 ACC/AHA/AACVPR/APMA/ABC/SCAI/SVM/SVN/SVS/SIR/VESS Guideline for the "
              "Management of Lower Extremity PAD. Circulation 2024;149:e1313-e1410",
              "https://doi.org/10.1161/CIR.0000000000001251"),
    Guideline("gvg-clti-2019", "Global Vascular Guidelines on CLTI 2019",
              "Conte MS et al. Global Vascular Guidelines on the Management of CLTI. "
              "Eur J Vasc Endovasc Surg 2019;58(1S):S1-S109", "https://doi.org/10.1016/j.ejvs.2019.05.006"),
    Guideline("aha-acc-cholesterol-2018", "2018 AHA/ACC cholesterol guideline",
              "Grundy SM et al. 2018 AHA/ACC Multisociety Guideline on the Management of Blood Cholesterol. "
              "Circulation 2019;139:e1082-e1143, section 5 (statin safety)",
              "https://doi.org/10.1161/CIR.0000000000000625"),
    Guideline("nla-2014", "NLA Statin Muscle Safety Task Force 2014",
              "Rosenson RS et al. An assessment by the Statin Muscle Safety Task Force: 2014 update. "
              "J Clin Lipidol 2014;8(3 Suppl):S58-S71",
              "https://www.lipidjournal.com/article/S1933-2874(14)00160-3/fulltext"),
    Guideline("fda-simvastatin-2011", "FDA simvastatin safety communication 2011",
              "FDA Drug Safety Communication: new restrictions, contraindications and dose limitations for "
              "Zocor (simvastatin), 2011-06-08",
              "https://www.fda.gov/drugs/drug-safety-and-availability/fda-drug-safety-communication-new-"
              "restrictions-contraindications-and-dose-limitations-zocor-simvastatin"),
    Guideline("simvastatin-label", "Zocor (simvastatin) US label 2023",
              "Merck Sharp & Dohme. ZOCOR (simvastatin) tablets, US prescribing information, revised 2023: sections 2 "
              "(dosage modifications for drug interactions), 4 (contraindications), 5.1 and 7.1 (drug interactions "
              "that increase the risk of myopathy and rhabdomyolysis)",
              "https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query=zocor"),
    Guideline("lovastatin-label", "Mevacor (lovastatin) US label 2014",
              "Merck Sharp & Dohme. MEVACOR (lovastatin) tablets, US prescribing information, revised 2014 (after the "
              "FDA Drug Safety Communication 'Important safety label changes to cholesterol-lowering statin drugs', "
              "2012-02-28), followed by the generic lovastatin tablets labels: CONTRAINDICATIONS (strong CYP3A4 "
              "inhibitors), WARNINGS, Myopathy/Rhabdomyolysis (avoid with cyclosporine or gemfibrozil; suspend "
              "lovastatin for an unavoidable short course of a strong CYP3A4 inhibitor) and DOSAGE AND "
              "ADMINISTRATION (danazol, diltiazem, dronedarone, verapamil: at most 20 mg; amiodarone: at most 40 mg)",
              "https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query=lovastatin"),
    Guideline("statin-macrolide-review-2019", "Abu Mellal et al. 2019, statin-macrolide interactions",
              "Abu Mellal A, Hussain N, Said ASA. The clinical significance of statins-macrolides interaction: "
              "comprehensive review of in vivo studies, case reports, and population studies. Ther Clin Risk Manag "
              "2019;15:921-936", "https://doi.org/10.2147/TCRM.S214938"),
    Guideline("atorvastatin-label", "Lipitor (atorvastatin) US label 2022",
              "Pfizer. LIPITOR (atorvastatin calcium) tablets, US prescribing information, revised 2022: sections 2 "
              "(dosage modifications for drug interactions), 7.1 (drug interactions that increase the risk of "
              "myopathy and rhabdomyolysis) and 12.3 (pharmacokinetic interactions)",
              "https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query=lipitor"),
    Guideline("rosuvastatin-label", "Crestor (rosuvastatin) US label",
              "AstraZeneca. CRESTOR (rosuvastatin calcium) tablets, US prescribing information: section 2 (dosage "
              "modifications for drug interactions) and 7 (drug interactions)",
              "https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query=crestor"),
    Guideline("pravastatin-label", "Pravachol (pravastatin) US label",
              "Bristol-Myers Squibb. PRAVACHOL (pravastatin sodium) tablets, US prescribing information: sections "
              "2.5-2.6 and 7.1-7.5 (cyclosporine, clarithromycin, colchicine, gemfibrozil, other fibrates)",
              "https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query=pravachol"),
    Guideline("fda-statin-protease-2012", "FDA statin and protease inhibitor safety communication 2012",
              "FDA Drug Safety Communication: Interactions between certain HIV or hepatitis C drugs and "
              "cholesterol-lowering statin drugs can increase the risk of muscle injury, 2012-03-01",
              "https://www.fda.gov/drugs/drug-safety-and-availability/drug-safety-communications"),
    Guideline("acc-statin-intolerance-tool", "ACC Statin Intolerance Tool",
              "American College of Cardiology, Statin Intolerance Tool", "https://tools.acc.org/ldl/StatinIntolerance/"),
    Guideline("aasm-rls-2024", "AASM RLS guideline 2024",
              "Winkelman JW et al. Treatment of restless legs syndrome and periodic limb movement disorder: an AASM "
              "clinical practice guideline. J Clin Sleep Med 2025;21(1):137-152",
              "https://doi.org/10.5664/jcsm.11390"),
    # Issue 14, points 5-6 (iron deficiency framed by its cause; SNRIs first-line in painful diabetic neuropathy).
    Guideline("aga-ida-2020", "AGA iron deficiency anaemia guideline 2020",
              "Ko CW et al. AGA Clinical Practice Guidelines on the Gastrointestinal Evaluation of Iron Deficiency "
              "Anemia. Gastroenterology 2020;159:1085-1094 (recommendation 2: bidirectional endoscopy in "
              "asymptomatic postmenopausal women and men with iron deficiency anaemia, strong; recommendation 3: "
              "suggested in premenopausal women, conditional)",
              "https://gastro.org/clinical-guidance/gastrointestinal-evaluation-of-iron-deficiency-anemia"),
    Guideline("aan-pdn-2021", "AAN painful diabetic neuropathy guideline 2021",
              "Price R et al. Oral and Topical Treatment of Painful Diabetic Polyneuropathy: Practice Guideline Update "
              "Summary. Report of the AAN Guideline Subcommittee. Neurology 2022;98:31-43 (offer TCAs, SNRIs, "
              "gabapentinoids and/or sodium-channel blockers to reduce pain, Level B)",
              "https://doi.org/10.1212/WNL.0000000000013038"),
    Guideline("espen-2019", "ESPEN geriatric hydration guideline 2019",
              "Volkert D et al. ESPEN guideline on clinical nutrition and hydration in geriatrics. "
              "Clin Nutr 2019;38:10-47", "https://doi.org/10.1016/j.clnu.2018.05.024"),
    Guideline("nass-stenosis-2011", "NASS lumbar spinal stenosis guideline 2011",
              "North American Spine Society. Evidence-Based Clinical Guidelines: Diagnosis and Treatment of "
              "Degenerative Lumbar Spinal Stenosis (2011)", "https://www.spine.org/Research-Clinical-Care/"
              "Quality-Improvement/Clinical-Guidelines"),
    Guideline("nass-disc-2012", "NASS lumbar disc herniation guideline 2012",
              "North American Spine Society. Evidence-Based Clinical Guidelines: Diagnosis and Treatment of Lumbar "
              "Disc Herniation with Radiculopathy (2012)", "https://www.spine.org/Research-Clinical-Care/"
              "Quality-Improvement/Clinical-Guidelines"),
    Guideline("acp-lbp-2017", "ACP low back pain guideline 2017",
              "Qaseem A et al. Noninvasive treatments for acute, subacute, and chronic low back pain. "
              "Ann Intern Med 2017;166:514-530", "https://doi.org/10.7326/M16-2367"),
    Guideline("svs-venous-2022", "SVS/AVF/AVLS varicose vein guideline 2022",
              "Gloviczki P et al. Society for Vascular Surgery, American Venous Forum and American Vein and "
              "Lymphatic Society clinical practice guidelines for the management of varicose veins (2022/2023)",
              "https://vascular.org/research-quality/guidelines-and-reporting-standards/clinical-practice-guidelines"),
    Guideline("svs-avf-vlu-2014", "SVS/AVF venous leg ulcer guideline 2014",
              "O'Donnell TF Jr, Passman MA, Marston WA, et al. Management of venous leg ulcers: clinical practice "
              "guidelines of the Society for Vascular Surgery and the American Venous Forum. J Vasc Surg "
              "2014;60(2 Suppl):3S-59S; diagnosis: arterial pulse examination and ankle-brachial index in all "
              "patients with a venous leg ulcer (Grade 1B), referral to a vascular specialist for an ABI <= 0.90",
              "https://doi.org/10.1016/j.jvs.2014.04.049"),
    Guideline("ada-2025", "ADA Standards of Care 2025",
              "American Diabetes Association. Standards of Care in Diabetes-2025, section 12 (neuropathy, foot care). "
              "Diabetes Care 2025;48(Suppl 1)", "https://diabetesjournals.org/care/issue/48/Supplement_1"),
    Guideline("rabe-compression-2020", "International consensus on compression risks and contraindications 2020",
              "Rabe E, Partsch H, Morrison N, et al. Risks and contraindications of medical compression treatment - "
              "a critical reappraisal. An international consensus statement. Phlebology 2020;35(7):447-460",
              "https://doi.org/10.1177/0268355520909066"),
    Guideline("cilostazol-label", "Cilostazol label, boxed warning and contraindications",
              "Cilostazol tablets, US prescribing information: Boxed Warning (contraindicated in patients with heart "
              "failure of any severity: PDE3 inhibitors decreased survival in class III-IV heart failure) and "
              "section 4 (Contraindications)",
              "https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query=cilostazol"),
    Guideline("asco-cipn-2020", "ASCO CIPN guideline 2020",
              "Loprinzi CL et al. Prevention and management of chemotherapy-induced peripheral neuropathy in "
              "survivors of adult cancers: ASCO guideline update. J Clin Oncol 2020;38:3325-3348",
              "https://doi.org/10.1200/JCO.20.01399"),
    # URL from the FDA's Drug Safety Communication index (not re-checked: no network here).
    Guideline("fda-ppi-2011", "FDA PPI hypomagnesaemia safety communication 2011",
              "FDA Drug Safety Communication: low magnesium levels can be associated with long-term use of proton "
              "pump inhibitor drugs (PPIs), 2011-03-02",
              "https://www.fda.gov/drugs/drug-safety-and-availability/fda-drug-safety-communication-low-magnesium-"
              "levels-can-be-associated-long-term-use-proton-pump-inhibitor-drugs-ppis"),
    Guideline("kdigo-ckd-2024", "KDIGO CKD guideline 2024",
              "KDIGO 2024 Clinical Practice Guideline for the Evaluation and Management of Chronic Kidney Disease. "
              "Kidney Int 2024;105(4S):S117-S314", "https://kdigo.org/guidelines/ckd-evaluation-and-management/"),
    Guideline("nih-cc-ranges", "NIH Clinical Center adult reference ranges",
              "NIH Clinical Center, Department of Laboratory Medicine: adult reference ranges and critical values, as "
              "published with the LOINC long common names in NLM Lister Hill Center's flowsheet-lhc tables",
              "https://github.com/LHNCBC/flowsheet-lhc"),
    Guideline("wermers-2007", "Wermers 2007 (thiazide-associated hypercalcaemia)",
              "Wermers RA et al. Incidence and clinical spectrum of thiazide-associated hypercalcemia. "
              "Am J Med 2007;120(10):911.e9-911.e15; Griebeler ML et al. Thiazide-associated hypercalcemia: incidence "
              "and association with primary hyperparathyroidism over two decades. J Clin Endocrinol Metab "
              "2016;101(3):1166-1173", "https://doi.org/10.1016/j.amjmed.2006.07.044"),
    Guideline("ckd-epi-2021", "CKD-EPI 2021 creatinine equation",
              "Inker LA et al. New creatinine- and cystatin C-based equations to estimate GFR without race. "
              "N Engl J Med 2021;385:1737-1749", "https://doi.org/10.1056/NEJMoa2102953"),
    Guideline("hillier-1999", "Hillier 1999 (sodium correction for hyperglycaemia)",
              "Hillier TA, Abbott RD, Barrett EJ. Hyponatremia: evaluating the correction factor for hyperglycemia. "
              "Am J Med 1999;106(4):399-403", "https://doi.org/10.1016/S0002-9343(99)00055-8"),
    Guideline("payne-1973", "Payne 1973 (albumin-corrected calcium)",
              "Payne RB et al. Interpretation of serum calcium in patients with abnormal serum proteins. "
              "BMJ 1973;4:643-646", "https://doi.org/10.1136/bmj.4.5893.643"),
    Guideline("eas-sams-2015", "EAS consensus on statin-associated muscle symptoms 2015",
              "Stroes ES et al. Statin-associated muscle symptoms: impact on statin therapy - European "
              "Atherosclerosis Society Consensus Panel Statement on Assessment, Aetiology and Management. "
              "Eur Heart J 2015;36(17):1012-1022, Table 1", "https://doi.org/10.1093/eurheartj/ehv043"),
    Guideline("bsh-cobalamin-2014", "BSH cobalamin and folate guideline 2014",
              "Devalia V, Hamilton MS, Molloy AM; British Committee for Standards in Haematology. Guidelines for the "
              "diagnosis and treatment of cobalamin and folate disorders. Br J Haematol 2014;166(4):496-513",
              "https://doi.org/10.1111/bjh.12959"),
    Guideline("albuterol-label", "Albuterol inhalation aerosol label, Hypokalemia",
              "Albuterol sulfate inhalation aerosol, US prescribing information, Warnings and Precautions: "
              "Hypokalemia (beta-agonists may produce significant hypokalaemia, possibly through intracellular "
              "shunting)", "https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query=albuterol"),
    Guideline("bodenhamer-1992", "Bodenhamer 1992, nebulized beta-agonists and serum electrolytes",
              "Bodenhamer J et al. Frequently nebulized beta-agonists for asthma: effects on serum electrolytes. "
              "Ann Emerg Med 1992;21(11):1337-1342", "https://doi.org/10.1016/S0196-0644(05)81898-0"),
    # Issue 14, points 7-8 (SNRIs and sodium; spinal emergencies and red flags).
    Guideline("snri-labels-hyponatremia", "SNRI labels (venlafaxine, duloxetine, desvenlafaxine), Hyponatremia",
              "US prescribing information of venlafaxine, duloxetine (section 5.13) and desvenlafaxine, Warnings and "
              "Precautions: Hyponatremia (SSRIs and SNRIs can cause hyponatremia, in many cases from SIADH; elderly "
              "patients and those taking diuretics or otherwise volume depleted are at greater risk)",
              "https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query=venlafaxine"),
    Guideline("girft-ces-2023", "GIRFT national suspected cauda equina syndrome pathway 2023",
              "Getting It Right First Time (NHS England). National Suspected Cauda Equina Syndrome (CES) Pathway, "
              "2023: CES is a spinal surgical emergency - immediate referral to hospital and emergency MRI",
              "https://gettingitrightfirsttime.co.uk/pathway-supports-clinicians-to-diagnose-and-treat-cauda-"
              "equina-syndrome-without-delay/"),
    Guideline("nice-ng59-2016", "NICE NG59 low back pain and sciatica 2016 (updated 2020)",
              "NICE guideline NG59. Low back pain and sciatica in over 16s: assessment and management, 2016, updated "
              "2020; recommendation 1.1.1 (exclude specific causes such as cancer, infection, trauma or inflammatory "
              "disease)", "https://www.nice.org.uk/guidance/ng59"),
    Guideline("nice-cks-sciatica", "NICE CKS sciatica (lumbar radiculopathy), red flags",
              "NICE Clinical Knowledge Summaries. Sciatica (lumbar radiculopathy): assessing for red flags (pain that "
              "remains when lying supine raises the suspicion of spinal cancer or infection; suspected cauda equina "
              "syndrome usually warrants immediate admission)",
              "https://cks.nice.org.uk/topics/sciatica-lumbar-radiculopathy/"),
    Guideline("acr-lbp-2021", "ACR Appropriateness Criteria low back pain 2021",
              "Hutchins TA et al. ACR Appropriateness Criteria Low Back Pain: 2021 Update. J Am Coll Radiol "
              "2021;18(11S):S361-S379; variant 4 (suspected cauda equina syndrome) and variant 7 (suspicion of "
              "cancer, infection or immunosuppression): MRI of the lumbar spine",
              "https://doi.org/10.1016/j.jacr.2021.08.002"),
    # Issue 15 review, items 1-2 (spinal metastases and metastatic spinal cord compression).
    Guideline("nice-ng234-2023", "NICE NG234 spinal metastases and MSCC 2023",
              "NICE guideline NG234. Spinal metastases and metastatic spinal cord compression, 2023 (replaces CG75): "
              "recognition, referral and imaging of suspected spinal metastases and metastatic spinal cord compression "
              "(MSCC); neurological symptoms or signs suggestive of MSCC are an oncological emergency",
              "https://www.nice.org.uk/guidance/ng234"),
    Guideline("nice-qs56-2023", "NICE QS56 spinal metastases and MSCC (updated 2023)",
              "NICE quality standard QS56. Spinal metastases and metastatic spinal cord compression, updated September "
              "2023 to align with NG234: statement 2 (spinal pain suggestive of spinal metastases without neurological "
              "symptoms or signs: MRI of the whole spine within 1 week) and statement 3 (suspected MSCC with "
              "neurological symptoms or signs: MRI of the whole spine within 24 hours)",
              "https://www.nice.org.uk/guidance/qs56"),
    # Review 14, item 5 (hyperkalaemia on an MRA: halve or stop the culprit, do not start one).
    Guideline("esc-hf-2021", "ESC heart failure guideline 2021",
              "McDonagh TA et al. 2021 ESC Guidelines for the diagnosis and treatment of acute and chronic heart "
              "failure. Eur Heart J 2021;42:3599-3726, Supplementary Table 4 (practical guidance on mineralocorticoid "
              "receptor antagonists: potassium above 5.5 mmol/L, halve the dose; above 6.0 mmol/L, stop the MRA "
              "immediately)", "https://doi.org/10.1093/eurheartj/ehab368"),
    Guideline("spironolactone-label", "Aldactone (spironolactone) US label",
              "Pfizer. ALDACTONE (spironolactone) tablets, US prescribing information: section 4 (contraindicated "
              "in hyperkalaemia) and section 5.1 (hyperkalaemia: monitor potassium; treat with dose reduction or "
              "discontinuation)", "https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query=aldactone"),
]

GUIDELINES: dict[str, Guideline] = {g.key: g for g in _ALL}


def get(key: str) -> Guideline:
    return GUIDELINES[key]
